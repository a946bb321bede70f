package rubygems

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
)

// TestMarshalKnownBytes compares the encoder with what Ruby writes. The
// expected bytes were made once with Ruby 3.1.2 (rubygems 3.3.15):
//
//	def h(x) = Marshal.dump(x).unpack1("H*")
//	h([nil, true, false, 0, 1, 122, 123, -1, -123, -124, 255, 256, 65536, -256, -257, 2**30-1])
//	h([["foo", Gem::Version.new("1.0.0"), "ruby"], ["foo", Gem::Version.new("1.0.0.pre"), "java"]])
//	d = Gem::Dependency.new("bar", ">= 1.0", "< 3"); d.remove_instance_variable(:@version_requirements); h(d)
//	h(Gem::Platform.new("x86_64-linux"))
//	h({"a" => 1, :b => "c".b, "long" => "x" * 300})
//	h([[], {}, ""])
func TestMarshalKnownBytes(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string // hex
	}{
		{"integers", []any{nil, true, false, 0, 1, 122, 123, -1, -123, -124, 255, 256, 65536, -256, -257, 1<<30 - 1},
			"04085b1530544669006906697f69017b69fa698069ff846901ff69020001690300000169ff0069fefffe6904ffffff3f"},
		{"name tuples", []any{
			[]any{"foo", gemVersion("1.0.0"), "ruby"},
			[]any{"foo", gemVersion("1.0.0.pre"), "java"},
		}, "04085b075b08492208666f6f063a064554553a1147656d3a3a56657273696f6e5b0649220a312e302e30063b005449220972756279063b00545b08492208666f6f063b0054553b065b0649220e312e302e302e707265063b00544922096a617661063b0054"},
		{"dependency", rbObject{Class: "Gem::Dependency", IVars: []rbPair{
			{"@name", "bar"}, {"@requirement", gemRequirement([]string{">= 1.0", "< 3"})}, {"@type", rbSymbol("runtime")}, {"@prerelease", false},
		}}, "04086f3a1447656d3a3a446570656e64656e6379093a0a406e616d65492208626172063a0645543a1140726571756972656d656e74553a1547656d3a3a526571756972656d656e745b065b075b074922073e3d063b0754553a1147656d3a3a56657273696f6e5b06492208312e30063b07545b074922063c063b0754553b0a5b0649220633063b07543a0a40747970653a0c72756e74696d653a104070726572656c6561736546"},
		{"platform", gemPlatform("x86_64-linux"),
			"04086f3a1247656d3a3a506c6174666f726d083a094063707549220b7838365f3634063a0645543a08406f7349220a6c696e7578063b07543a0d4076657273696f6e30"},
		{"hash, binary string, long string", rbHash{{"a", 1}, {rbSymbol("b"), rbBinary("c")}, {"long", strings.Repeat("x", 300)}},
			"04087b0849220661063a06455469063a06622206634922096c6f6e67063b00544922022c01" + strings.Repeat("78", 300) + "063b0054"},
		{"empty", []any{[]any{}, rbHash{}, ""}, "04085b085b007b00492200063a064554"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := marshalRuby(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(got); h != tt.want {
				t.Errorf("got  %s\nwant %s", h, tt.want)
			}
		})
	}
}

func TestMarshalRefuses(t *testing.T) {
	for _, v := range []any{1 << 40, struct{}{}, []any{3.5}} {
		if _, err := marshalRuby(v); err == nil {
			t.Errorf("marshalRuby(%v) succeeded", v)
		}
	}
}

// TestQuickSpecLoadsInRuby has Ruby load a quick gemspec the way gem
// install does (Marshal.load of the inflated .rz) and print what it read.
func TestQuickSpecLoadsInRuby(t *testing.T) {
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		t.Skip("ruby is not installed")
	}
	spec := &Spec{Name: "demo", Version: "1.2.0.pre", Platform: "x86_64-linux", Summary: "Demo",
		Dependencies:    []Dependency{{Name: "dep", Requirements: []string{">= 1.0", "< 3"}}},
		DevDependencies: []Dependency{{Name: "dev", Requirements: []string{"~> 2.0"}}},
		RequiredRuby:    []string{">= 2.5"}, Authors: []string{"A", "B"}, Email: []string{"a@example.com"},
		Licenses: []string{"MIT"}, Metadata: map[string]string{"source_code_uri": "https://example.com"},
		Date: "2024-05-01", SpecVersion: 4, RubygemsVersion: "3.3.15"}
	raw, err := quickSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	var rz bytes.Buffer
	zw := zlib.NewWriter(&rz)
	zw.Write(raw)
	zw.Close()
	cmd := exec.CommandContext(t.Context(), ruby, "-rrubygems", "-rzlib", "-e", `s = Marshal.load(Gem::Util.inflate(STDIN.read))
puts [s.name, s.version, s.platform, s.summary, s.authors.join("+"), s.date.strftime("%F"),
  s.required_ruby_version, s.runtime_dependencies.map(&:to_s).join(";"), s.development_dependencies.map(&:to_s).join(";"),
  s.metadata["source_code_uri"], s.full_name, s.version.prerelease?].join("|")`)
	cmd.Stdin = &rz
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ruby: %v\n%s", err, out)
	}
	want := "demo|1.2.0.pre|x86_64-linux|Demo|A+B|2024-05-01|>= 2.5|dep (>= 1.0, < 3)|dev (~> 2.0, development)|" +
		"https://example.com|demo-1.2.0.pre-x86_64-linux|true"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("ruby read\n%s\nwant\n%s", got, want)
	}
}
