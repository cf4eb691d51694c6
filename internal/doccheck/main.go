// Command doccheck reports exported names without a doc comment, and
// packages without a package overview, in the Go packages under the given
// directories (non-test files only). It exits 1 when it reports anything.
//
//	go run ./internal/doccheck .
//
// A name declared in a group (const or var block) is documented by the
// group's comment. Methods count only on exported types; an unexported
// type's methods are not API. Directories named testdata or node_modules,
// and those starting with "." or "_", are skipped, as the go tool does.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	roots := os.Args[1:]
	if len(roots) == 0 {
		roots = []string{"."}
	}
	var problems []string
	for _, root := range roots {
		p, err := checkTree(root)
		if err != nil {
			fmt.Fprintln(os.Stderr, "doccheck:", err)
			os.Exit(2)
		}
		problems = append(problems, p...)
	}
	sort.Strings(problems)
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Printf("doccheck: %d exported names or packages without documentation\n", len(problems))
		os.Exit(1)
	}
}

// checkTree checks every package directory under root.
func checkTree(root string) ([]string, error) {
	var problems []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root && (name == "testdata" || name == "node_modules" ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		p, err := checkDir(path)
		problems = append(problems, p...)
		return err
	})
	return problems, err
}

// checkDir checks the package in dir, if any.
func checkDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var problems []string
	documented := map[string]bool{} // package name → has a package comment
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		documented[f.Name.Name] = documented[f.Name.Name] || f.Doc != nil
		problems = append(problems, checkFile(fset, f)...)
	}
	for pkg, ok := range documented {
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: package %s has no package comment", dir, pkg))
		}
	}
	return problems, nil
}

// checkFile reports the undocumented exported declarations of f.
func checkFile(fset *token.FileSet, f *ast.File) []string {
	var problems []string
	report := func(pos token.Pos, what string) {
		problems = append(problems, fmt.Sprintf("%s: %s has no doc comment", fset.Position(pos), what))
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Doc == nil && d.Name.IsExported() && exportedReceiver(d) {
				report(d.Pos(), d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				for _, name := range specNames(spec) {
					if name.IsExported() && d.Doc == nil && specDoc(spec) == nil {
						report(name.Pos(), name.Name)
					}
				}
			}
		}
	}
	return problems
}

// exportedReceiver reports whether fd is a function, or a method of an
// exported type.
func exportedReceiver(fd *ast.FuncDecl) bool {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return true
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return false
		}
	}
}

func specNames(spec ast.Spec) []*ast.Ident {
	switch s := spec.(type) {
	case *ast.TypeSpec:
		return []*ast.Ident{s.Name}
	case *ast.ValueSpec:
		return s.Names
	}
	return nil
}

func specDoc(spec ast.Spec) *ast.CommentGroup {
	switch s := spec.(type) {
	case *ast.TypeSpec:
		return s.Doc
	case *ast.ValueSpec:
		if s.Doc != nil {
			return s.Doc
		}
		return s.Comment
	}
	return nil
}
