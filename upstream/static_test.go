package upstream

import (
	"reflect"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestStaticUpstreams(t *testing.T) {
	s, err := NewStatic(map[core.Protocol][]core.Upstream{
		core.ProtocolNPM: {
			{Name: "public", URL: "https://public.example", Priority: 10, Exclude: []string{"@internal/*"}},
			{Name: "team", URL: "https://team.example", Priority: 1, Include: []string{"@team/*", "team-*"}},
			{Name: "mirror", URL: "https://mirror.example", Priority: 10},
			{Name: "off", URL: "https://off.example", Disabled: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	names := func(list []core.Upstream) []string {
		var out []string
		for _, u := range list {
			out = append(out, u.Name)
		}
		return out
	}
	tests := []struct {
		protocol core.Protocol
		pkg      string
		want     []string
	}{
		{core.ProtocolNPM, "@team/app", []string{"team", "public", "mirror"}},
		{core.ProtocolNPM, "team-tools", []string{"team", "public", "mirror"}},
		{core.ProtocolNPM, "left-pad", []string{"public", "mirror"}},
		{core.ProtocolNPM, "@internal/secret", []string{"mirror"}},
		{core.ProtocolPyPI, "requests", nil},
	}
	if n := len(s.Breakers().States()); n != 3 {
		t.Fatalf("%d breakers registered, want 3 (the disabled upstream has none)", n)
	}
	for _, tt := range tests {
		t.Run(string(tt.protocol)+" "+tt.pkg, func(t *testing.T) {
			if got := names(s.Upstreams(t.Context(), tt.protocol, tt.pkg)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewStaticRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string][]core.Upstream{
		"no url":      {{Name: "x"}},
		"bad include": {{Name: "x", URL: "https://x", Include: []string{"[a-"}}},
		"bad exclude": {{Name: "x", URL: "https://x", Exclude: []string{"{a"}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewStatic(map[core.Protocol][]core.Upstream{core.ProtocolNPM: cfg}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
