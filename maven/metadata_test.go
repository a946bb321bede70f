package maven

import (
	"errors"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestParseCoordinates(t *testing.T) {
	tests := []struct {
		path string
		want Coordinates
		ok   bool
	}{
		{"com/example/app/1.0/app-1.0.jar", Coordinates{"com.example", "app", "1.0", "app-1.0.jar"}, true},
		{"org/apache/maven/plugins/maven-jar-plugin/3.3.0/maven-jar-plugin-3.3.0.pom",
			Coordinates{"org.apache.maven.plugins", "maven-jar-plugin", "3.3.0", "maven-jar-plugin-3.3.0.pom"}, true},
		{"x/a/1.0-SNAPSHOT/a-1.0-SNAPSHOT.jar", Coordinates{"x", "a", "1.0-SNAPSHOT", "a-1.0-SNAPSHOT.jar"}, true},
		{"a/1.0/a-1.0.jar", Coordinates{}, false},
		{"com/../app/1.0/app-1.0.jar", Coordinates{}, false},
		{"com/./app/1.0/app-1.0.jar", Coordinates{}, false},
		{"com//app/1.0/app-1.0.jar", Coordinates{}, false},
		{"com/ex ample/app/1.0/app-1.0.jar", Coordinates{}, false},
		{"com/example/app/1.0..2/app.jar", Coordinates{}, false},
		{"com/example/app/-1.0/app.jar", Coordinates{}, false},
		{"com/example/app/SNAPSHOT/app.jar", Coordinates{}, false},
		{"com/example/a$p/1.0/a.jar", Coordinates{}, false},
		{"com/example/app/1.0+build/app-1.0+build.jar", Coordinates{"com.example", "app", "1.0+build", "app-1.0+build.jar"}, true},
		{"com.example/app/1.0/app-1.0.jar", Coordinates{}, false},
		{"", Coordinates{}, false},
	}
	for _, tc := range tests {
		got, err := ParseCoordinates(tc.path)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseCoordinates(%q) = %+v, %v; want %+v, ok=%v", tc.path, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, core.ErrInvalidArgument) {
			t.Errorf("ParseCoordinates(%q): %v is not ErrInvalidArgument", tc.path, err)
		}
	}
}

func TestParseFileName(t *testing.T) {
	tests := []struct {
		artifact, version, file string
		want                    FileName
		ok                      bool
	}{
		{"app", "1.0", "app-1.0.jar", FileName{Extension: "jar"}, true},
		{"app", "1.0", "app-1.0-sources.jar", FileName{Classifier: "sources", Extension: "jar"}, true},
		{"app", "1.0", "app-1.0.jar.asc", FileName{Extension: "jar.asc"}, true},
		{"app", "1.0", "app-1.0.tar.gz", FileName{Extension: "tar.gz"}, true},
		{"app", "1.0", "app-1.0-linux-x86_64.so", FileName{Classifier: "linux-x86_64", Extension: "so"}, true},
		{"app", "1.0", "app-1.0.module", FileName{Extension: "module"}, true},
		{"app", "1.0-SNAPSHOT", "app-1.0-SNAPSHOT.jar", FileName{Extension: "jar"}, true},
		{"app", "1.0-SNAPSHOT", "app-1.0-20260102.150405-3.jar", FileName{Extension: "jar", Build: "20260102.150405-3"}, true},
		{"app", "1.0-SNAPSHOT", "app-1.0-20260102.150405-12-tests.jar", FileName{Classifier: "tests", Extension: "jar", Build: "20260102.150405-12"}, true},
		{"app", "1.0-SNAPSHOT", "app-1.0-20261302.150405-3.jar", FileName{}, false},
		{"app", "1.0-SNAPSHOT", "app-1.0-20260102.150405-0.jar", FileName{}, false},
		{"app", "1.0-SNAPSHOT", "app-1.0-20260102.150405.jar", FileName{}, false},
		{"app", "1.0", "app-2.0.jar", FileName{}, false},
		{"app", "1.0", "other-1.0.jar", FileName{}, false},
		{"app", "1.0", "app-1.0", FileName{}, false},
		{"app", "1.0", "app-1.0.", FileName{}, false},
		{"app", "1.0", "app-1.0-.jar", FileName{}, false},
		{"app", "1.0", "app-1.0-x", FileName{}, false},
		{"app", "1.0", "app-1.0.j$r", FileName{}, false},
		{"app", "1.0", "app-1.0..jar", FileName{}, false},
	}
	for _, tc := range tests {
		got, err := ParseFileName(tc.artifact, tc.version, tc.file)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseFileName(%q, %q, %q) = %+v, %v; want %+v, ok=%v", tc.artifact, tc.version, tc.file, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name, doc string
		level     Level
		versions  []string
		err       error
	}{
		{name: "artifact", doc: artifactMetadata("g", "a", "1.0", "2.0"), level: LevelArtifact, versions: []string{"1.0", "2.0"}},
		{name: "version", doc: `<metadata modelVersion="1.1.0"><groupId>g</groupId><artifactId>a</artifactId><version>1-SNAPSHOT</version></metadata>`,
			level: LevelVersion},
		{name: "group", doc: `<metadata><plugins><plugin><prefix>p</prefix><artifactId>p-maven-plugin</artifactId></plugin></plugins></metadata>`,
			level: LevelGroup},
		{name: "comment after", doc: artifactMetadata("g", "a") + "<!-- x -->\n", level: LevelArtifact},
		{name: "not xml", doc: "hello", err: ErrNotXML},
		{name: "empty", doc: "", err: ErrNotXML},
		{name: "other root", doc: "<project/>", err: ErrNotXML},
		{name: "unclosed", doc: "<metadata><groupId>g</groupId>", err: ErrNotXML},
		{name: "text after", doc: "<metadata/>trailing", err: ErrNotXML},
		{name: "undefined entity", doc: "<metadata><groupId>&x;</groupId></metadata>", err: ErrNotXML},
		{name: "too large", doc: "<metadata>" + strings.Repeat(" ", 400) + "</metadata>", err: core.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMetadata(strings.NewReader(tc.doc), 400)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Level() != tc.level || strings.Join(m.VersionList(), ",") != strings.Join(tc.versions, ",") {
				t.Errorf("level %d versions %v, want %d %v", m.Level(), m.VersionList(), tc.level, tc.versions)
			}
		})
	}
}

func TestParseChecksum(t *testing.T) {
	sha1 := strings.Repeat("ab", 20)
	tests := []struct {
		body, alg, want string
	}{
		{sha1, "sha1", sha1},
		{strings.ToUpper(sha1) + "\n", "sha1", sha1},
		{sha1 + "  app-1.0.jar\n", "sha1", sha1},
		{strings.Repeat("0", 32), "md5", strings.Repeat("0", 32)},
		{strings.Repeat("f", 128), "sha512", strings.Repeat("f", 128)},
		{"", "sha1", ""},
		{sha1[:39], "sha1", ""},
		{strings.Repeat("g", 40), "sha1", ""},
		{sha1, "md5", ""},
	}
	for _, tc := range tests {
		got, err := parseChecksum([]byte(tc.body), tc.alg)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("parseChecksum(%q, %s) = %q, %v; want %q", tc.body, tc.alg, got, err, tc.want)
		}
	}
}

func TestSplitChecksum(t *testing.T) {
	for in, want := range map[string][2]string{
		"app-1.0.jar.sha1":            {"app-1.0.jar", "sha1"},
		"maven-metadata.xml.sha512":   {"maven-metadata.xml", "sha512"},
		"app-1.0.jar":                 {"app-1.0.jar", ""},
		"app-1.0.jar.asc":             {"app-1.0.jar.asc", ""},
		"app-1.0.jar.asc.md5":         {"app-1.0.jar.asc", "md5"},
		".sha1":                       {".sha1", ""},
		"maven-metadata.xml.sha3":     {"maven-metadata.xml.sha3", ""},
		"app-1.0-SNAPSHOT.pom.sha256": {"app-1.0-SNAPSHOT.pom", "sha256"},
	} {
		base, alg, ok := splitChecksum(in)
		if base != want[0] || alg != want[1] || ok != (want[1] != "") {
			t.Errorf("splitChecksum(%q) = %q, %q, %v", in, base, alg, ok)
		}
	}
}

func TestParsePluginPOM(t *testing.T) {
	pom := func(artifact, packaging, extra string) []byte {
		return []byte(`<project xmlns="http://maven.apache.org/POM/4.0.0"><artifactId>` + artifact + `</artifactId><packaging>` +
			packaging + `</packaging>` + extra + `</project>`)
	}
	tests := []struct {
		name string
		pom  []byte
		want Plugin
		ok   bool
	}{
		{"suffix", pom("hello-maven-plugin", "maven-plugin", ""), Plugin{"hello-maven-plugin", "hello", "hello-maven-plugin"}, true},
		{"maven prefix", pom("maven-jar-plugin", "maven-plugin", "<name>Jar</name>"), Plugin{"Jar", "jar", "maven-jar-plugin"}, true},
		{"configured", pom("x-plugin", "maven-plugin", `<build><plugins><plugin><artifactId>maven-plugin-plugin</artifactId>`+
			`<configuration><goalPrefix>yo</goalPrefix></configuration></plugin></plugins></build>`), Plugin{"x-plugin", "yo", "x-plugin"}, true},
		{"jar", pom("hello-maven-plugin", "jar", ""), Plugin{}, false},
		{"bad prefix", pom("x-plugin", "maven-plugin", `<build><plugins><plugin><artifactId>maven-plugin-plugin</artifactId>`+
			`<configuration><goalPrefix>a b</goalPrefix></configuration></plugin></plugins></build>`), Plugin{}, false},
		{"not xml", []byte("nope"), Plugin{}, false},
	}
	for _, tc := range tests {
		got, ok := ParsePluginPOM(tc.pom)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRenderArtifactXML: the artifact-level metadata written by hand is
// byte for byte what encoding/xml writes for the same Metadata.
func TestRenderArtifactXML(t *testing.T) {
	e := newTestEnv(t, Config{})
	for _, v := range []string{"1.0", "1.1-SNAPSHOT", "2.0"} {
		if err := e.h.addVersion(t.Context(), "com.example", "app", v); err != nil {
			t.Fatal(err)
		}
	}
	ed, _, err := core.GetEntryDoc[artifactHead](t.Context(), e.storage, artifactKey("com.example", "app"))
	if err != nil {
		t.Fatal(err)
	}
	m := &Metadata{GroupID: "com.example", ArtifactID: "app", Versioning: &Versioning{Latest: "2.0", Release: "2.0",
		Versions: &Versions{Version: []string{"1.0", "1.1-SNAPSHOT", "2.0"}}, LastUpdated: ed.Head.LastUpdated.UTC().Format(lastUpdatedLayout)}}
	want, err := m.render()
	if err != nil {
		t.Fatal(err)
	}
	if got := renderArtifactXML(ed); string(got) != string(want) {
		t.Errorf("by hand:\n%s\nencoding/xml:\n%s", got, want)
	}
}
