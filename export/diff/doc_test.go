package diff

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"testing"
)

// TestMatchStepsDocumented checks that the package documentation lists as
// many steps of matching functions as match takes (its calls of pairBy):
// the doc is where a reader learns why two functions were, or were not,
// compared.
func TestMatchStepsDocumented(t *testing.T) {
	fset := token.NewFileSet()
	doc, err := parser.ParseFile(fset, "doc.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	steps := len(regexp.MustCompile(`(?m)^\s*[0-9]+\. `).FindAllString(doc.Doc.Text(), -1))
	code, err := parser.ParseFile(fset, "match.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, d := range code.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "match" {
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok {
					if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "pairBy" {
						calls++
					}
				}
				return true
			})
		}
	}
	if calls == 0 {
		t.Fatal("match calls pairBy nowhere: this test no longer reads the code")
	}
	if steps != calls {
		t.Errorf("doc.go lists %d steps of matching, match takes %d", steps, calls)
	}
}
