package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

func TestParseUpstreams(t *testing.T) {
	env := map[string]string{
		"SMARTREGISTRY_UPSTREAM_NPM":   "https://:tok@npm.acme.internal/npm/#@acme/*, https://registry.npmjs.org#!@acme/*;!@internal/*",
		"SMARTREGISTRY_UPSTREAM_PYPI":  "https://user:secret@pypi.example/base",
		"SMARTREGISTRY_UPSTREAM_TTL":   "90s",
		"SMARTREGISTRY_UPSTREAM_MERGE": "true",
	}
	o, err := parseUpstreams(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := map[core.Protocol][]core.Upstream{
		core.ProtocolNPM: {
			{Name: "npm-1", URL: "https://npm.acme.internal/npm", Priority: 0, Token: "tok", Include: []string{"@acme/*"}},
			{Name: "npm-2", URL: "https://registry.npmjs.org", Priority: 1, Exclude: []string{"@acme/*", "@internal/*"}},
		},
		core.ProtocolPyPI: {{Name: "pypi-1", URL: "https://pypi.example/base", Username: "user", Password: "secret"}},
	}
	if !reflect.DeepEqual(o.byProtocol, want) || o.policy.MetadataTTL != 90*time.Second || !o.policy.Merge {
		t.Fatalf("got %+v policy %+v", o.byProtocol, o.policy)
	}
	for name, v := range map[string]string{
		"SMARTREGISTRY_UPSTREAM_OCI":   "ftp://x",
		"SMARTREGISTRY_UPSTREAM_TTL":   "soon",
		"SMARTREGISTRY_UPSTREAM_MERGE": "perhaps",
	} {
		if _, err := parseUpstreams(func(k string) string {
			if k == name {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%s accepted", name, v)
		}
	}
}
