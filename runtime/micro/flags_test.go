package micro

import "testing"

func TestSettingLookup(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		env       string
		setEnv    bool // set env even when empty
		want      string
		found     bool
		wantError bool
	}{
		{args: []string{"--address=:8080"}, want: ":8080", found: true},
		{args: []string{"-address", ":8080"}, want: ":8080", found: true},
		{args: []string{"--verbose", "--address", "10.0.0.1:80", "extra"}, want: "10.0.0.1:80", found: true},
		{args: []string{"--address=:1"}, env: ":2", want: ":1", found: true},
		{args: []string{"--addresses=:1"}, env: ":2", want: ":2", found: true},
		{args: nil, env: "", setEnv: true, want: "", found: false},
		{args: []string{"--", "--address=:1"}},
		{args: []string{"address=:1"}},
		{args: []string{"--address"}, wantError: true},
		{args: []string{"--address", "--other"}, wantError: true},
		{args: nil},
	} {
		t.Run(tt.want, func(t *testing.T) {
			if tt.env != "" || tt.setEnv {
				t.Setenv("MICRO_ADDRESS", tt.env)
			}
			got, found, err := addressSetting.lookup(tt.args)
			if (err != nil) != tt.wantError || got != tt.want || found != tt.found {
				t.Errorf("lookup(%q) = %q, %v, %v, want %q, %v, error %v", tt.args, got, found, err, tt.want, tt.found, tt.wantError)
			}
		})
	}
}
