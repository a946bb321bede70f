package digest

import (
	"io"
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	s := NewSet(MD5, SHA1, SHA256, SHA512, BLAKE2b256)
	if _, err := io.Copy(io.Discard, s.Reader(strings.NewReader("abc"))); err != nil {
		t.Fatal(err)
	}
	want := map[Algorithm]string{
		MD5:        "900150983cd24fb0d6963f7d28e17f72",
		SHA1:       "a9993e364706816aba3e25717850c26c9cd0d89d",
		SHA256:     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		BLAKE2b256: "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
	}
	for alg, hex := range want {
		if got := s.Hex(alg); got != hex {
			t.Errorf("%s = %s, want %s", alg, got, hex)
		}
	}
	if s.Size() != 3 {
		t.Errorf("size = %d", s.Size())
	}
	if !strings.HasPrefix(s.Base64(SHA512), "3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==") {
		t.Errorf("sha512 base64 = %s", s.Base64(SHA512))
	}
	if s.Sum("nope") != nil {
		t.Error("unknown algorithm has a sum")
	}
}
