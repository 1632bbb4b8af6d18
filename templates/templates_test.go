package templates

import (
	"bytes"
	"io/fs"
	"testing"
)

// TestSharedFiles keeps the files a client shares with the service it calls
// the same in both kinds of project: the same proto, the same generation.
func TestSharedFiles(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		"proto/{{.ProtoName}}/v1/{{.ProtoName}}.proto.tmpl",
		"buf.yaml.tmpl",
		"buf.gen.yaml.tmpl",
		"go.mod.tmpl",
	} {
		service, err := fs.ReadFile(files, "service/"+name)
		if err != nil {
			t.Fatal(err)
		}
		client, err := fs.ReadFile(files, "client/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(service, client) {
			t.Errorf("templates/service/%s and templates/client/%s differ; a client must generate what its service does", name, name)
		}
	}
}

func TestKinds(t *testing.T) {
	t.Parallel()
	if got := Kinds(); len(got) != 2 || got[0] != "client" || got[1] != "service" {
		t.Errorf("Kinds() = %v, want [client service]", got)
	}
	if _, err := FS("widget"); err == nil {
		t.Error(`FS("widget") succeeded, want an error`)
	}
}
