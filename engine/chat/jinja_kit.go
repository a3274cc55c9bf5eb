package chat

import (
	"sync"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// renderKit is what one render needs bound to its budget: the filters,
// tests and methods, guarded, and the loader that carries the budget to the guards
// (see evalBudget). Building one makes a closure for every filter and
// method, so kits are pooled and each render borrows one.
type renderKit struct {
	budget  evalBudget
	loader  renderLoader
	filters *exec.FilterSet
	tests   *exec.TestSet
	methods exec.Methods
}

var renderKits = sync.Pool{New: func() any { return newRenderKit() }}

func newRenderKit() *renderKit {
	k := &renderKit{}
	b := &k.budget
	k.loader.budget = b
	base := jinjaEnvironment
	filters := map[string]exec.FilterFunction{}
	for _, name := range setNames(base.Filters) {
		fn, _ := base.Filters.Get(name)
		filters[name] = guardFilter(b, name, fn)
	}
	for name, op := range operatorFilters {
		filters[name] = operatorFilter(b, op)
	}
	k.filters = exec.NewFilterSet(filters)
	tests := map[string]exec.TestFunction{}
	for _, name := range setNames(base.Tests) {
		fn, _ := base.Tests.Get(name)
		tests[name] = guardTest(b, name, fn)
	}
	k.tests = exec.NewTestSet(tests)
	k.methods = base.Methods
	k.methods.Str = guardStrMethods(b, base.Methods.Str, setNames(base.Methods.Str))
	k.methods.List = guardListMethods(b, base.Methods.List, setNames(base.Methods.List))
	k.methods.Dict = guardDictMethods(b, base.Methods.Dict, setNames(base.Methods.Dict))
	return k
}

// renderer sets the kit up for a render of tpl under a fresh budget of
// maxSteps, writing to w.
func (k *renderKit) renderer(t *jinjaTemplate, w *limitedWriter, data map[string]any, maxSteps int) *exec.Renderer {
	k.budget = evalBudget{maxSteps: maxSteps}
	k.loader.Loader = t.loader
	env := &exec.Environment{
		Filters:           k.filters,
		ControlStructures: jinjaEnvironment.ControlStructures,
		Tests:             k.tests,
		Methods:           k.methods,
		Context:           jinjaEnvironment.Context.Inherit().Update(exec.NewContext(data)),
	}
	return exec.NewRenderer(env, w, t.cfg, &k.loader, t.tpl)
}
