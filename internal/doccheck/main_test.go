package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheckTree(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/a.go", `// Package a is documented.
package a

// Documented is.
func Documented() {}

func Bare() {}

// Group documents its names.
const (
	X = 1
	Y = 2
)

var Lone = 3

type T struct{}

func (T) M() {}

type u struct{}

func (u) Hidden() {}
`)
	write("a/a_test.go", "package a\n\nfunc TestOnly() {}\n")
	write("b/b.go", "package b\n\n// F is.\nfunc F() {}\n")
	write("testdata/c.go", "package c\n\nfunc Skipped() {}\n")
	problems, err := checkTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p[strings.LastIndex(p, ": ")+2:])
	}
	slices.Sort(got)
	want := []string{"Bare has no doc comment", "Lone has no doc comment", "M has no doc comment",
		"T has no doc comment", "package b has no package comment"}
	if !slices.Equal(got, want) {
		t.Errorf("problems\n%q\nwant\n%q", got, want)
	}
}
