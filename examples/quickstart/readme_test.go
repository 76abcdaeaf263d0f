package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// includeBlock is a README code block that must be a file of the repository,
// verbatim: the marker line names the file.
var includeBlock = regexp.MustCompile("(?s)<!-- include: ([^ ]+) -->\n```go\n(.*?)```\n")

// TestREADMEIncludesTheQuickStartVerbatim: the README's quick start and its
// test are these files, so what a reader copies compiles and passes.
func TestREADMEIncludesTheQuickStartVerbatim(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range includeBlock.FindAllSubmatch(readme, -1) {
		path := string(m[1])
		seen[path] = true
		want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
		if err != nil {
			t.Errorf("README includes %s: %v", path, err)
			continue
		}
		if !bytes.Equal(m[2], want) {
			t.Errorf("README's block for %s differs from the file; copy the file into the README", path)
		}
	}
	for _, path := range []string{"examples/quickstart/main.go", "examples/quickstart/main_test.go"} {
		if !seen[path] {
			t.Errorf("README does not include %s (a line <!-- include: %s --> before its go block)", path, path)
		}
	}
}
