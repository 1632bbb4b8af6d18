package harness

import (
	"testing"
)

// TestClientSize builds the two client-only programs (two go builds) and
// checks the size goal without a whole benchmark run; -short skips it.
func TestClientSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	t.Parallel()
	dir, err := ModuleDir(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	binaries, err := measureBinaries(t.Context(), dir, []helloProgram{{microClient, "microclient"}, {grpcClient, "grpcclient"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range binaries {
		t.Logf("%s: %d bytes, %d modules", b.Name, b.Size, b.Modules)
	}
	v := sizeVerdict(binaries)
	t.Logf("%s: %s, target ≤ %.2fx: %s", v.Goal, v.value(), v.Limit, v.Status)
	if v.Status != "met" {
		t.Errorf("%s = %s, want at most %.2fx", v.Goal, v.value(), v.Limit)
	}
}
