package smartregistry

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// publicPackages are the directories of the packages users import.
var publicPackages = []string{
	".", "core", "core/storage/filesystem", "core/storage/memory", "core/storage/s3", "core/storage/storagetest",
	"oci", "npm", "pypi", "upstream",
}

// TestExportedNamesHaveDocComments fails for every exported identifier of
// a public package without a doc comment: types, functions, methods of
// exported types, constants and variables (a comment on their group
// counts), struct fields and interface methods (a comment on the line
// counts too).
func TestExportedNamesHaveDocComments(t *testing.T) {
	var missing []string
	left := maps.Clone(pendingDocs)
	for _, dir := range publicPackages {
		for _, u := range undocumented(t, dir) {
			if pendingDocs[u.key] {
				delete(left, u.key)
				continue
			}
			missing = append(missing, u.where+" "+u.name)
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("no doc comment: %s", m)
	}
	for k := range left {
		t.Errorf("pendingDocs lists %s, which has a doc comment now (or is gone): remove it", k)
	}
}

// pendingDocs are exported names, as "file name", whose doc comments
// another change in flight will bring; none now.
var pendingDocs = map[string]bool{}

// undocumentedName is an exported name without a doc comment.
type undocumentedName struct {
	where string // file:line
	name  string // e.g. "Config.NPM"
	key   string // "file name", as in pendingDocs
}

// undocumented lists the exported names in dir's non-test files that lack
// a doc comment.
func undocumented(t *testing.T, dir string) []undocumentedName {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []undocumentedName
	report := func(pos token.Pos, name string) {
		p := fset.Position(pos)
		file := filepath.ToSlash(p.Filename)
		out = append(out, undocumentedName{where: fmt.Sprintf("%s:%d", file, p.Line), name: name, key: file + " " + name})
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || (d.Recv != nil && !exportedReceiver(d.Recv)) {
					continue
				}
				if d.Doc == nil {
					report(d.Pos(), funcName(d))
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						if s.Doc == nil && d.Doc == nil {
							report(s.Pos(), s.Name.Name)
						}
						checkMembers(s, report)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && s.Doc == nil && s.Comment == nil && d.Doc == nil {
								report(n.Pos(), n.Name)
							}
						}
					}
				}
			}
		}
	}
	return out
}

// checkMembers reports the exported fields of a struct type and methods of
// an interface type without a comment above or beside them.
func checkMembers(s *ast.TypeSpec, report func(token.Pos, string)) {
	var fields *ast.FieldList
	switch tt := s.Type.(type) {
	case *ast.StructType:
		fields = tt.Fields
	case *ast.InterfaceType:
		fields = tt.Methods
	default:
		return
	}
	for _, f := range fields.List {
		if f.Doc != nil || f.Comment != nil {
			continue
		}
		for _, n := range f.Names { // embedded fields have none
			if n.IsExported() {
				report(n.Pos(), s.Name.Name+"."+n.Name)
			}
		}
	}
}

func exportedReceiver(recv *ast.FieldList) bool {
	typ := recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if idx, ok := typ.(*ast.IndexExpr); ok {
		typ = idx.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}

func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil {
		return d.Name.Name
	}
	typ := d.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return d.Name.Name
}
