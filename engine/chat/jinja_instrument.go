package chat

import (
	"reflect"
	"slices"
	"unsafe"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// instrument puts a parsed template under the evaluation budget (see
// evalBudget): every node of every body (the template's, a loop's, a
// branch's, a macro's, a caller's, a set block's) but plain text is
// wrapped in a guard,
// every loop body starts with a tick, and the expressions that build
// values (+, *, ~, a loop's iterable, a set's value) become calls of the
// guarded operators.
//
// gonja keeps some of its tree in unexported fields (a set's value, a
// filter block's body), so the tree is walked by reflection, reaching
// those fields through their addresses: every body and expression of
// every control structure is reached, including ones this file does not
// name. The gonja version is pinned in go.mod; the tests render every
// official template through the instrumented tree.
func instrument(root *nodes.Template) {
	in := &instrumenter{seen: map[uintptr]bool{}, exprs: map[nodes.Expression]nodes.Expression{}, ops: map[*nodes.FilteredExpression]string{}}
	root.Nodes = in.body(root.Nodes)
	// Blocks are kept apart from the tree, for self.name() to render.
	for _, w := range root.Blocks {
		in.wrapper(w)
	}
}

func (in *instrumenter) wrapper(w *nodes.Wrapper) {
	if w == nil || in.seen[uintptr(unsafe.Pointer(w))] {
		return
	}
	in.seen[uintptr(unsafe.Pointer(w))] = true
	w.Nodes = in.body(w.Nodes)
}

type instrumenter struct {
	seen  map[uintptr]bool
	exprs map[nodes.Expression]nodes.Expression
	// ops are the operator calls made so far, by operator.
	ops map[*nodes.FilteredExpression]string
}

var (
	exprType    = reflect.TypeFor[nodes.Expression]()
	nodeType    = reflect.TypeFor[nodes.Node]()
	wrapperType = reflect.TypeFor[*nodes.Wrapper]()
	callType    = reflect.TypeFor[*nodes.Call]()
	tokenType   = reflect.TypeFor[*tokens.Token]()
	nodesPkg    = reflect.TypeFor[nodes.Data]().PkgPath()
	csPkg       = reflect.TypeFor[controlStructures.ForControlStructure]().PkgPath()
	ownPkg      = reflect.TypeFor[generationBlock]().PkgPath()
)

// body guards each node of a body.
func (in *instrumenter) body(list []nodes.Node) []nodes.Node {
	out := make([]nodes.Node, 0, len(list))
	for _, n := range list {
		switch x := n.(type) {
		case *nodes.Comment:
			continue
		case *nodes.Data:
			// Template text: it cannot recurse, and its size is the
			// template's. The guards around it (a loop's tick, the
			// next node) charge for it and check the output.
			out = append(out, n)
			continue
		case *nodes.Output:
			in.structure(reflect.ValueOf(x))
		case *nodes.ControlStructureBlock:
			if x.ControlStructure != nil {
				in.structure(reflect.ValueOf(x.ControlStructure))
				in.special(x.ControlStructure)
			}
		}
		out = append(out, newGuard(n, n.Position()))
	}
	return out
}

// special adds what generic instrumentation cannot know: a loop's
// iterable is charged for, and its body ticks; a set's value is checked
// before it is stored.
func (in *instrumenter) special(cs nodes.ControlStructure) {
	switch x := cs.(type) {
	case *controlStructures.ForControlStructure:
		pos := x.ObjectEvaluator.Position()
		x.ObjectEvaluator = opCall(opIter, pos, x.ObjectEvaluator)
		if x.BodyWrapper != nil {
			x.BodyWrapper.Nodes = append([]nodes.Node{newGuard(nil, pos)}, x.BodyWrapper.Nodes...)
		}
	case *controlStructures.SetControlStructure:
		v := reflect.ValueOf(x).Elem()
		var target nodes.Expression
		switch t := field(v, "target").Interface().(type) {
		case *nodes.GetAttribute:
			target, _ = t.Node.(nodes.Expression)
		case *nodes.GetItem:
			target, _ = t.Node.(nodes.Expression)
		}
		for _, name := range []string{"expression", "alternative"} {
			f := field(v, name)
			e, _ := f.Interface().(nodes.Expression)
			if e == nil {
				continue
			}
			args := []nodes.Expression{e}
			if target != nil {
				args = append(args, target)
			}
			f.Set(reflect.ValueOf(nodes.Expression(opCall(opStore, e.Position(), args...))))
		}
	}
}

// field is a struct field, settable even when unexported.
func field(v reflect.Value, name string) reflect.Value {
	return settable(v.FieldByName(name))
}

func settable(f reflect.Value) reflect.Value {
	if f.CanSet() {
		return f
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// structure instruments the fields of a node (a pointer to a struct).
func (in *instrumenter) structure(p reflect.Value) {
	if p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
		return
	}
	if in.seen[p.Pointer()] {
		return
	}
	in.seen[p.Pointer()] = true
	in.fields(p.Elem())
}

func (in *instrumenter) fields(s reflect.Value) {
	for i := range s.NumField() {
		in.value(settable(s.Field(i)))
	}
}

// value instruments one settable field, slice element or map value.
func (in *instrumenter) value(f reflect.Value) {
	switch f.Type() {
	case tokenType:
		return
	case wrapperType:
		in.wrapper(f.Interface().(*nodes.Wrapper))
		return
	case callType:
		// A call that must stay a call ({% call m() %}): only its parts.
		in.structure(f)
		return
	case exprType, nodeType:
		if f.IsNil() {
			return
		}
		if e, ok := f.Interface().(nodes.Expression); ok {
			f.Set(reflect.ValueOf(in.expr(e)))
		}
		return
	}
	switch f.Kind() {
	case reflect.Slice:
		for i := range f.Len() {
			in.value(f.Index(i))
		}
	case reflect.Map:
		iter := f.MapRange()
		type kv struct{ k, v reflect.Value }
		var updates []kv
		for iter.Next() {
			v := reflect.New(f.Type().Elem()).Elem()
			v.Set(iter.Value())
			in.value(v)
			updates = append(updates, kv{iter.Key(), v})
		}
		for _, u := range updates {
			f.SetMapIndex(u.k, u.v)
		}
	case reflect.Pointer:
		if !f.IsNil() && ownNode(f.Type().Elem()) {
			in.structure(f)
		}
	case reflect.Interface:
		if !f.IsNil() {
			if e := f.Elem(); e.Kind() == reflect.Pointer && ownNode(e.Type().Elem()) {
				in.structure(e)
			}
		}
	case reflect.Struct:
		if ownNode(f.Type()) {
			in.fields(f)
		}
	}
}

// ownNode: a type of gonja's tree or of its control structures (or this
// package's), as opposed to values and templates the tree points at.
func ownNode(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[nodes.Template]() {
		return false
	}
	pkg := t.PkgPath()
	return pkg == nodesPkg || pkg == csPkg || pkg == ownPkg
}

// expr instruments an expression's parts and returns what evaluates it
// under the budget.
func (in *instrumenter) expr(e nodes.Expression) nodes.Expression {
	if done, ok := in.exprs[e]; ok {
		return done
	}
	out := e
	in.structure(reflect.ValueOf(e))
	if b, ok := e.(*nodes.BinaryExpression); ok && b.Operator != nil && b.Operator.Token != nil {
		switch b.Operator.Token.Type {
		case tokens.Addition:
			out = in.chain(opAdd, b)
		case tokens.Multiply:
			out = opCall(opMul, b.Operator.Token, b.Left, b.Right)
		case tokens.Tilde:
			out = in.chain(opConcat, b)
		case tokens.Equals, tokens.Ne, tokens.LowerThan, tokens.LowerThanOrEqual, tokens.GreaterThan, tokens.GreaterThanOrEqual:
			// Comparing with a literal is cheap (lengths differ, or the
			// literal is short); comparing two long strings is not.
			name := opCompare + b.Operator.Token.Val
			if _, known := operatorFilters[name]; known && !literal(b.Left) && !literal(b.Right) {
				out = opCall(name, b.Operator.Token, b.Left, b.Right)
			}
		case tokens.In:
			if !literal(b.Right) {
				out = opCall(opCompare+"in", b.Operator.Token, b.Left, b.Right)
			}
		}
	}
	in.exprs[e] = out
	return out
}

// literal: an expression whose value is written in the template.
func literal(e nodes.Expression) bool {
	switch x := e.(type) {
	case *nodes.String, *nodes.Integer, *nodes.Float, *nodes.Bool, *nodes.None:
		return true
	case *nodes.List:
		return !slices.ContainsFunc(x.Val, func(e nodes.Expression) bool { return !literal(e) })
	case *nodes.Tuple:
		return !slices.ContainsFunc(x.Val, func(e nodes.Expression) bool { return !literal(e) })
	}
	return false
}

// chain makes a + b + c one call of the operator over all three (it folds
// from the left, as the nested expressions would): templates build their
// prompt from long chains of + and ~, and each call has a cost.
func (in *instrumenter) chain(op string, b *nodes.BinaryExpression) *nodes.FilteredExpression {
	if left, ok := b.Left.(*nodes.FilteredExpression); ok && in.ops[left] == op {
		args := append([]nodes.Expression{left.Expression}, left.Filters[0].Args...)
		c := opCall(op, b.Operator.Token, append(args, b.Right)...)
		in.ops[c] = op
		return c
	}
	c := opCall(op, b.Operator.Token, b.Left, b.Right)
	in.ops[c] = op
	return c
}

// opCall applies one of the guarded operators (a filter) to its
// operands: the first is the filter's input.
func opCall(name string, pos *tokens.Token, args ...nodes.Expression) *nodes.FilteredExpression {
	if pos == nil {
		pos = &tokens.Token{}
	}
	tok := *pos
	tok.Type, tok.Val = tokens.Name, name
	return &nodes.FilteredExpression{
		Expression: args[0],
		Filters:    []*nodes.FilterCall{{Token: &tok, Name: name, Args: args[1:], Kwargs: map[string]nodes.Expression{}}},
	}
}
