package rubygems

import "testing"

// BuildGem builds a .gem in code, for the tests of package rubygems_test.
func BuildGem(tb testing.TB, name, version string) []byte {
	return fixture{name: name, version: version, deps: map[string]string{"dep": ">= 1.0"}}.gem(tb)
}
