package provider_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeRegion is the README's copy of the lines between "// README start"
// and "// README end" of a file.
var readmeRegion = regexp.MustCompile("(?s)<!-- include: (provider/[^ ]+) between README start and end -->\n```go\n(.*?)```\n")

// TestREADMEShowsTheEmbeddingExample: the README's "Embed the provider
// with your own users" is Example_ownUsers's code, verbatim, so what a
// reader copies compiles and is tested (by the Example's Output).
func TestREADMEShowsTheEmbeddingExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := readmeRegion.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no block marked <!-- include: provider/example_embed_test.go between README start and end -->")
	}
	src, err := os.ReadFile(strings.TrimPrefix(string(m[1]), "provider/"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := bytes.Cut(src, []byte("\t// README start\n"))
	region, _, found := bytes.Cut(rest, []byte("\t// README end\n"))
	if !found {
		t.Fatalf("%s has no README start/end markers", m[1])
	}
	// The example's lines are indented one tab in its function.
	want := regexp.MustCompile("(?m)^\t").ReplaceAll(region, nil)
	if !bytes.Equal(m[2], want) {
		t.Errorf("README's block differs from %s; copy the lines between the markers:\n%s", m[1], want)
	}
	if n := bytes.Count(want, []byte("\n")); n > 20 {
		t.Errorf("the embedding example is %d lines; the README promises at most 20", n)
	}
}
