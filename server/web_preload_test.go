package server

import (
	"io/fs"
	"regexp"
	"slices"
	"testing"

	"github.com/dropcast/dropcast/client"
)

var importRE = regexp.MustCompile(`(?m)^import [^'"]*['"]\./([a-z]+\.js)['"]`)

// TestModulePreloads checks each page's preload list against the modules its
// entry module really imports, so a new import cannot slip out of it.
func TestModulePreloads(t *testing.T) {
	root := client.Static()
	var walk func(name string, seen map[string]bool)
	walk = func(name string, seen map[string]bool) {
		b, err := fs.ReadFile(root, "js/"+name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		for _, m := range importRE.FindAllSubmatch(b, -1) {
			dep := string(m[1])
			if !seen[dep] {
				seen[dep] = true
				walk(dep, seen)
			}
		}
	}
	for page, list := range modulePreloads {
		seen := map[string]bool{}
		walk(page+".js", seen)
		var want []string
		for dep := range seen {
			want = append(want, "js/"+dep)
		}
		got := slices.Clone(list)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s preloads %v, imports %v", page, got, want)
		}
	}
}
