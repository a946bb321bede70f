package pypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// dist describes a test distribution, built in code (no PyPI, no build
// backend): a pure-Python wheel that pip can install, or an sdist with a
// PKG-INFO that twine can read.
type dist struct {
	name, version  string
	requires       []string // Requires-Dist
	requiresPython string
	// metadataName, when set, is the Name written into the metadata instead
	// of name (to test the cross-check).
	metadataName string
	// payload adds a data file of this many incompressible bytes to a wheel.
	payload int
	// metadataVersion is the Metadata-Version written, default 2.1; dynamic
	// are the Dynamic fields written (PEP 643).
	metadataVersion string
	dynamic         []string
}

func (d dist) module() string { return strings.ReplaceAll(NormalizeName(d.name), "-", "_") }

func (d dist) wheelName() string { return d.module() + "-" + d.version + "-py3-none-any.whl" }

func (d dist) sdistName() string { return d.module() + "-" + d.version + ".tar.gz" }

// metadata is the core metadata (METADATA / PKG-INFO) of d.
func (d dist) metadata() string {
	name := d.name
	if d.metadataName != "" {
		name = d.metadataName
	}
	mv := d.metadataVersion
	if mv == "" {
		mv = "2.1"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: %s\nName: %s\nVersion: %s\nSummary: test package %s\n", mv, name, d.version, d.name)
	for _, f := range d.dynamic {
		fmt.Fprintf(&b, "Dynamic: %s\n", f)
	}
	b.WriteString("Home-page: https://example.invalid/\nAuthor: Tester\nLicense: MIT\n")
	b.WriteString("Project-URL: Source, https://example.invalid/src\nClassifier: Programming Language :: Python :: 3\n")
	if d.requiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", d.requiresPython)
	}
	for _, r := range d.requires {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	fmt.Fprintf(&b, "Description-Content-Type: text/markdown\n\n# %s\n\nA test package.\n", d.name)
	return b.String()
}

// wheel builds a pure-Python wheel with METADATA, WHEEL and a RECORD of
// real hashes, which pip installs.
func (d dist) wheel(t testing.TB) []byte {
	t.Helper()
	distInfo := d.module() + "-" + d.version + ".dist-info/"
	files := []struct{ name, body string }{
		{d.module() + "/__init__.py", fmt.Sprintf("VERSION = %q\n", d.version)},
		{distInfo + "METADATA", d.metadata()},
		{distInfo + "WHEEL", "Wheel-Version: 1.0\nGenerator: smartregistry-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	if d.payload > 0 {
		data := make([]byte, d.payload)
		rand.NewChaCha8([32]byte{byte(d.payload)}).Read(data) // deterministic: the same dist builds the same bytes
		files = append(files, struct{ name, body string }{d.module() + "/payload.bin", string(data)})
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		// Stored, not deflated: the payload is incompressible anyway.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f.body)
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString(distInfo + "RECORD,,\n")
	w, err := zw.Create(distInfo + "RECORD")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sdist builds a .tar.gz with <name>-<version>/PKG-INFO and a setup.py.
func (d dist) sdist(t testing.TB) []byte {
	t.Helper()
	dir := d.module() + "-" + d.version + "/"
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, body string }{
		{dir + "PKG-INFO", d.metadata()},
		{dir + "setup.py", fmt.Sprintf("from setuptools import setup\nsetup(name=%q, version=%q)\n", d.name, d.version)},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, f.body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadBody builds the multipart form twine sends for a file: the fields
// first, the "content" file part last. fields override or add to the
// defaults; a value of "" drops a default field.
func uploadBody(t testing.TB, d dist, filename string, content []byte, fields map[string]string) (body []byte, contentType string) {
	t.Helper()
	md5sum := md5.Sum(content)
	shasum := sha256.Sum256(content)
	blake := blake2b.Sum256(content)
	filetype := "sdist"
	pyversion := "source"
	if strings.HasSuffix(filename, ".whl") {
		filetype, pyversion = "bdist_wheel", "py3"
	}
	f := map[string]string{
		":action": "file_upload", "protocol_version": "1", "name": d.name, "version": d.version,
		"filetype": filetype, "pyversion": pyversion, "metadata_version": "2.1", "summary": "test package",
		"md5_digest": hex.EncodeToString(md5sum[:]), "sha256_digest": hex.EncodeToString(shasum[:]),
		"blake2_256_digest": hex.EncodeToString(blake[:]),
	}
	for k, v := range fields {
		f[k] = v
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range []string{":action", "protocol_version", "name", "version", "filetype", "pyversion",
		"metadata_version", "summary", "md5_digest", "sha256_digest", "blake2_256_digest"} {
		if v := f[k]; v != "" {
			mw.WriteField(k, v)
		}
		delete(f, k)
	}
	for k, v := range f {
		if v != "" {
			mw.WriteField(k, v)
		}
	}
	mw.WriteField("classifiers", "Programming Language :: Python :: 3")
	mw.WriteField("classifiers", "License :: OSI Approved :: MIT License")
	w, err := mw.CreateFormFile("content", filename)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}
