package composer

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// pkg describes a test package, built in code as a zip (no git, no
// Packagist): composer.json and a PHP class autoloaded by PSR-4.
type pkg struct {
	name, version string // version goes into composer.json when set
	// label is the VERSION constant of the PHP class; default version.
	label       string
	require     map[string]string
	description string
	// folder puts every entry in one top folder, as GitHub archives do.
	folder string
	// extra are more entries, name → content.
	extra map[string]string
}

// class is the PHP class name the package autoloads (Acme\Util\Util).
func (p pkg) namespace() string {
	parts := strings.Split(p.name, "/")
	for i, s := range parts {
		s = strings.NewReplacer("-", "", "_", "", ".", "").Replace(s)
		parts[i] = strings.ToUpper(s[:1]) + s[1:]
	}
	return strings.Join(parts, `\`)
}

func (p pkg) composerJSON() []byte {
	m := map[string]any{
		"name": p.name, "description": cmpOr(p.description, "test package "+p.name), "type": "library",
		"license": "MIT", "autoload": map[string]any{"psr-4": map[string]string{p.namespace() + `\`: "src/"}},
	}
	if p.version != "" {
		m["version"] = p.version
	}
	if len(p.require) > 0 {
		m["require"] = p.require
	}
	b, _ := json.MarshalIndent(m, "", "    ")
	return b
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// zip builds the package's zip.
func (p pkg) zip(t testing.TB) []byte {
	t.Helper()
	ns := p.namespace()
	class := ns[strings.LastIndexByte(ns, '\\')+1:]
	files := map[string]string{
		"composer.json":         string(p.composerJSON()),
		"src/" + class + ".php": fmt.Sprintf("<?php\nnamespace %s;\n\nclass %s\n{\n    const VERSION = %q;\n}\n", ns, class, cmpOr(p.label, p.version)),
		"README.md":             "# " + p.name + "\n",
	}
	for k, v := range p.extra {
		files[k] = v
	}
	return buildZip(t, p.folder, files)
}

// buildZip writes files (in name order, below folder when set) into a zip.
func buildZip(t testing.TB, folder string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if folder != "" {
			n = folder + "/" + n
		}
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		key := n
		if folder != "" {
			key = strings.TrimPrefix(n, folder+"/")
		}
		if _, err := w.Write([]byte(files[key])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// symlinkZip is a zip holding composer.json and a symbolic link.
func symlinkZip(t testing.TB, p pkg) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("composer.json")
	w.Write(p.composerJSON())
	h := &zip.FileHeader{Name: "link"}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("/etc/passwd"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombZip is a zip whose composer.json inflates from a few KiB to size
// bytes of spaces (valid JSON padding).
func bombZip(t testing.TB, p pkg, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("composer.json")
	w.Write(p.composerJSON()[:1])
	w.Write(bytes.Repeat([]byte(" "), size))
	w.Write(p.composerJSON()[1:])
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
