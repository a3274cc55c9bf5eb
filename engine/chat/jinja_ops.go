package chat

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// The operators that build values (+, *, ~), comparisons of values that
// are not literals, the iterable of a for loop and the value of a set are
// rewritten into these filters (see
// instrument), which do what gonja does after checking the budget: the
// first operand is the filter's input, the others its arguments. (A
// filter, because gonja calls one directly, where it calls a function by
// reflection.) Their names are not identifiers a template can write.
const (
	opAdd    = "·add"
	opMul    = "·mul"
	opConcat = "·concat"
	opIter   = "·iter"
	opStore  = "·store"
	// opCompare followed by the operator (==, !=, <, <=, >, >=, in) is a
	// comparison of values that are not literals: its cost grows with
	// their length.
	opCompare = "·compare"
)

// operatorFilters are the guarded operators, as filters.
var operatorFilters = map[string]func(b *evalBudget, in *exec.Value, params *exec.VarArgs) *exec.Value{
	opAdd:    (*evalBudget).add,
	opMul:    (*evalBudget).mul,
	opConcat: (*evalBudget).concat,
	opIter:   (*evalBudget).iter,
	opStore:  (*evalBudget).store,
}

func init() {
	for _, op := range []string{"==", "!=", "<", "<=", ">", ">=", "in"} {
		operatorFilters[opCompare+op] = func(b *evalBudget, left *exec.Value, params *exec.VarArgs) *exec.Value {
			return b.compare(op, left, params.Args[0])
		}
	}
}

func operatorFilter(b *evalBudget, op func(b *evalBudget, in *exec.Value, params *exec.VarArgs) *exec.Value) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		return op(b, in, params)
	}
}

// text is a value's printed form, after checking that it prints within
// bounds.
func (b *evalBudget) text(v *exec.Value) string {
	if !v.IsString() {
		b.printable(v)
	}
	return v.String()
}

// add is gonja's + over a chain of operands, folded from the left.
// A run of strings is joined at once.
func (b *evalBudget) add(first *exec.Value, params *exec.VarArgs) *exec.Value {
	args := params.Args
	acc := first
	for i := 0; i < len(args); {
		if acc.IsString() && args[i].IsString() {
			parts := []string{acc.String()}
			size := len(parts[0])
			for ; i < len(args) && args[i].IsString(); i++ {
				parts = append(parts, args[i].String())
				size += len(parts[len(parts)-1])
				if size > maxValueBytes {
					exceed("string size", maxValueBytes)
				}
			}
			b.built(size)
			acc = exec.AsValue(strings.Join(parts, ""))
			continue
		}
		acc = b.add2(acc, args[i])
		if acc.IsError() {
			return acc
		}
		i++
	}
	return acc
}

// add2 is gonja's +: lists concatenate, numbers add, and a string on
// either side makes both strings.
func (b *evalBudget) add2(left, right *exec.Value) *exec.Value {
	if left.IsList() {
		if !right.IsList() {
			return exec.AsValue(fmt.Errorf("unable to concatenate list to %s", right))
		}
		l, r := resolved(left), resolved(right)
		n := l.Len() + r.Len()
		b.builtList(n)
		out := make([]any, 0, n)
		for i := range l.Len() {
			out = append(out, l.Index(i).Interface())
		}
		for i := range r.Len() {
			out = append(out, r.Index(i).Interface())
		}
		return exec.AsValue(out)
	}
	if left.IsFloat() || right.IsFloat() {
		return exec.AsValue(left.Float() + right.Float())
	}
	if left.IsString() || right.IsString() {
		return b.join2(left, right)
	}
	return exec.AsValue(left.Integer() + right.Integer())
}

// concat is gonja's ~ over a chain of operands: all printed and joined.
func (b *evalBudget) concat(first *exec.Value, params *exec.VarArgs) *exec.Value {
	parts := make([]string, 0, len(params.Args)+1)
	size := 0
	for _, a := range append([]*exec.Value{first}, params.Args...) {
		parts = append(parts, b.text(a))
		size += len(parts[len(parts)-1])
		if size > maxValueBytes {
			exceed("string size", maxValueBytes)
		}
	}
	b.built(size)
	return exec.AsValue(strings.Join(parts, ""))
}

func (b *evalBudget) join2(left, right *exec.Value) *exec.Value {
	l, r := b.text(left), b.text(right)
	b.built(len(l) + len(r))
	return exec.AsValue(l + r)
}

// mul is gonja's *, with Python's rule that a string repeated zero or
// fewer times is empty.
func (b *evalBudget) mul(left *exec.Value, params *exec.VarArgs) *exec.Value {
	right := params.Args[0]
	if left.IsFloat() || right.IsFloat() {
		return exec.AsValue(left.Float() * right.Float())
	}
	if left.IsString() {
		s, n := left.String(), right.Integer()
		if n <= 0 || s == "" {
			return exec.AsValue("")
		}
		if n > maxValueBytes/len(s) {
			exceed("string size", maxValueBytes)
		}
		b.built(len(s) * n)
		return exec.AsValue(strings.Repeat(s, n))
	}
	return exec.AsValue(left.Integer() * right.Integer())
}

// iter is the iterable of a for loop: a step an item, charged before
// gonja walks the items (which it does in full before running the body).
func (b *evalBudget) iter(v *exec.Value, _ *exec.VarArgs) *exec.Value {
	switch r := resolved(v); r.Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		b.step(r.Len())
	case reflect.Pointer:
		if d, ok := r.Interface().(*exec.Dict); ok {
			b.step(len(d.Pairs))
		}
	}
	return v
}

// compare is gonja's comparison operators, charged for the operands'
// length.
func (b *evalBudget) compare(op string, left, right *exec.Value) *exec.Value {
	b.step(1 + inputCost(left) + inputCost(right))
	switch op {
	case "==":
		return exec.AsValue(left.EqualValueTo(right))
	case "!=":
		return exec.AsValue(!left.EqualValueTo(right))
	case "in":
		return exec.AsValue(right.Contains(left))
	}
	var less, equal bool
	switch {
	case left.IsFloat() || right.IsFloat():
		less, equal = left.Float() < right.Float(), left.Float() == right.Float()
	case left.IsString() || right.IsString():
		less, equal = left.String() < right.String(), left.String() == right.String()
	default:
		less, equal = left.Integer() < right.Integer(), left.Integer() == right.Integer()
	}
	switch op {
	case "<":
		return exec.AsValue(less)
	case "<=":
		return exec.AsValue(less || equal)
	case ">":
		return exec.AsValue(!less && !equal)
	case ">=":
		return exec.AsValue(!less)
	}
	return exec.AsValue(fmt.Errorf("unknown operator %q", op))
}

// store is the value of a set: it must not nest too deeply, nor contain
// the dict or namespace it is stored into (its second argument, if any).
func (b *evalBudget) store(v *exec.Value, params *exec.VarArgs) *exec.Value {
	var target *exec.Value
	if len(params.Args) > 0 {
		target = params.Args[0]
	}
	if !v.IsString() {
		storable(b, v, target)
	}
	return v
}

// result charges for what a built-in returned and refuses it if too
// large (built-ins that could build it too large are checked before).
func (b *evalBudget) result(v *exec.Value) {
	switch r := resolved(v); r.Kind() {
	case reflect.String:
		b.built(r.Len())
	case reflect.Slice:
		b.builtList(r.Len())
	}
}

// printingFilters print their input (or its items) as text with gonja's
// printer. (tojson has its own, which stops at the size bound.)
var printingFilters = map[string]bool{
	"string": true, "pprint": true, "join": true, "format": true, "escape": true, "e": true,
	"forceescape": true, "safe": true, "upper": true, "lower": true, "title": true, "capitalize": true,
	"trim": true, "striptags": true, "replace": true, "center": true, "indent": true, "wordwrap": true,
	"truncate": true, "urlencode": true, "urlize": true, "wordcount": true, "xmlattr": true,
}

// guardFilter wraps a filter: a step a call and more for a large input,
// the input measured before a filter prints it, the growth of the filters
// that can grow a string checked before, and the result after.
func guardFilter(b *evalBudget, name string, fn exec.FilterFunction) exec.FilterFunction {
	printing, grow, count := printingFilters[name], filterGrowth[name], countArgs[name]
	join, list := name == "join", name == "list"
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		b.step(1 + inputCost(in))
		if printing {
			if !in.IsString() {
				b.printable(in)
			}
			for _, a := range params.Args {
				if !a.IsString() {
					b.printable(a)
				}
			}
		}
		if grow != nil && in.IsString() {
			b.built(grow(in.String(), params))
		}
		if count != "" {
			b.builtList(intArg(params, 0, count, 0))
		}
		switch {
		case join:
			b.built(joinedSize(b, in, params))
		case list && in.IsString():
			b.builtList(len(in.String()))
		}
		out := fn(e, in, params)
		b.result(out)
		return out
	}
}

// intArg is a filter's or method's argument by position or keyword.
func intArg(params *exec.VarArgs, i int, name string, def int) int {
	var v *exec.Value
	if len(params.Args) > i {
		v = params.Args[i]
	} else if kw, ok := params.KwArgs[name]; ok {
		v = kw
	}
	switch {
	case v == nil:
		return def
	case v.IsInteger():
		return v.Integer()
	case v.IsString():
		return len(v.String())
	}
	return def
}

func strArg(params *exec.VarArgs, i int, name string) (string, bool) {
	if len(params.Args) > i {
		return params.Args[i].String(), true
	}
	if kw, ok := params.KwArgs[name]; ok {
		return kw.String(), true
	}
	return "", false
}

// countArgs are the filters whose first argument is a count of things
// they make (slices, a row's length, digits), by the argument's name.
var countArgs = map[string]string{"slice": "slices", "batch": "linecount", "round": "precision"}

// filterGrowth bounds the size of what a string filter returns, from its
// input and arguments.
var filterGrowth = map[string]func(s string, params *exec.VarArgs) int{
	"center": func(s string, p *exec.VarArgs) int { return max(len(s), intArg(p, 0, "width", 80)) },
	"indent": func(s string, p *exec.VarArgs) int {
		return len(s) + (strings.Count(s, "\n")+1)*max(intArg(p, 0, "width", 4), 0)
	},
	"wordwrap": func(s string, p *exec.VarArgs) int { return 2*len(s) + 1 },
	"replace": func(s string, p *exec.VarArgs) int {
		old, _ := strArg(p, 0, "old")
		repl, _ := strArg(p, 1, "new")
		return replacedSize(s, old, repl)
	},
	"format": func(s string, p *exec.VarArgs) int { return formatSize(s, p) },
}

// replacedSize bounds len(strings.ReplaceAll(s, old, repl)).
func replacedSize(s, old, repl string) int {
	n := utf8.RuneCountInString(s) + 1
	if old != "" {
		n = strings.Count(s, old)
	}
	if len(repl) > 0 && n > maxValueBytes/len(repl) {
		return maxValueBytes + 1
	}
	return len(s) + n*len(repl)
}

// formatSize bounds what formatting s (printf or str.format style) with
// the arguments prints: a field width is a run of digits, and the
// arguments print at most their own size each time they are used.
func formatSize(s string, p *exec.VarArgs) int {
	size := len(s)
	digits := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			digits++
			continue
		}
		if digits > 8 {
			return maxValueBytes + 1
		}
		if digits > 0 {
			w := 0
			for _, c := range s[i-digits : i] {
				w = w*10 + int(c-'0')
			}
			size += w
		}
		digits = 0
	}
	fields := strings.Count(s, "%") + strings.Count(s, "{") + 1
	args := 0
	m := newMeasurer(nil, maxValueBytes)
	for _, a := range p.Args {
		args += m.of(a).size
	}
	for _, a := range p.KwArgs {
		args += m.of(a).size
	}
	if args > 0 && fields > maxValueBytes/args {
		return maxValueBytes + 1
	}
	return size + fields*args
}

// joinedSize bounds what join prints: the items and a separator between
// each two.
func joinedSize(b *evalBudget, in *exec.Value, params *exec.VarArgs) int {
	sep, _ := strArg(params, 0, "d")
	return listJoinSize(b, resolved(in), sep)
}

// listJoinSize bounds the size of the items of list printed and joined
// by sep; 0 for a value that is not a list.
func listJoinSize(b *evalBudget, list reflect.Value, sep string) int {
	if k := list.Kind(); k != reflect.Slice && k != reflect.Array {
		return 0
	}
	size := 0
	m := newMeasurer(b, maxValueBytes)
	for i := range list.Len() {
		size += m.walk(list.Index(i), 1).size + len(sep)
		if size > maxValueBytes {
			break
		}
	}
	return size
}

// inputCost is the steps a built-in's work on a value costs beyond its
// call: a step per bytesPerStep of a string, per 16 items of a list.
func inputCost(v *exec.Value) int {
	switch r := resolved(v); r.Kind() {
	case reflect.String:
		return r.Len() / bytesPerStep
	case reflect.Slice, reflect.Array, reflect.Map:
		return r.Len() / 16
	}
	return 0
}

// guardStrMethods wraps the string methods: a step a call and more for a
// long string, and the growth of those that can grow a string checked
// before.
func guardStrMethods(b *evalBudget, set *exec.MethodSet[string], names []string) *exec.MethodSet[string] {
	width := func(i int, name string) func(string, *exec.VarArgs) int {
		return func(s string, p *exec.VarArgs) int { return max(len(s), intArg(p, i, name, 0)*4) }
	}
	growth := map[string]func(string, *exec.VarArgs) int{
		"center": width(0, "width"),
		"ljust":  width(0, "width"),
		"rjust":  width(0, "width"),
		"zfill":  width(0, "width"),
		"expandtabs": func(s string, p *exec.VarArgs) int {
			tab := max(intArg(p, 0, "tabsize", 8), 1)
			if tab > maxValueBytes/max(len(s), 1) {
				return maxValueBytes + 1
			}
			return len(s) * tab
		},
		"replace": func(s string, p *exec.VarArgs) int {
			old, _ := strArg(p, 0, "old")
			repl, _ := strArg(p, 1, "new")
			return replacedSize(s, old, repl)
		},
		"format":     formatSize,
		"format_map": formatSize,
		"join": func(s string, p *exec.VarArgs) int {
			if len(p.Args) == 0 {
				return 0
			}
			return listJoinSize(nil, resolved(p.Args[0]), s)
		},
	}
	all := map[string]exec.Method[string]{}
	for _, name := range names {
		m, ok := set.Get(name)
		if !ok {
			continue
		}
		grow := growth[name]
		all[name] = func(self string, selfValue *exec.Value, args *exec.VarArgs) (any, error) {
			b.step(1 + len(self)/bytesPerStep)
			if grow != nil {
				b.built(grow(self, args))
			}
			out, err := m(self, selfValue, args)
			switch o := out.(type) {
			case string:
				b.built(len(o))
			case []string:
				b.builtList(len(o))
			case pyList:
				b.builtList(len(o))
			case []any:
				b.builtList(len(o))
			}
			return out, err
		}
	}
	return exec.NewMethodSet(all)
}

// guardListMethods wraps the list methods: a step a call and more for a
// long list; what is added must not nest too deeply.
func guardListMethods(b *evalBudget, set *exec.MethodSet[[]any], names []string) *exec.MethodSet[[]any] {
	all := map[string]exec.Method[[]any]{}
	for _, name := range names {
		m, ok := set.Get(name)
		if !ok {
			continue
		}
		all[name] = func(self []any, selfValue *exec.Value, args *exec.VarArgs) (any, error) {
			b.step(1 + len(self)/16)
			for _, a := range args.Args {
				storable(b, a, nil)
			}
			out, err := m(self, selfValue, args)
			if r := resolved(selfValue); r.Kind() == reflect.Slice && r.Len() > maxListItems {
				exceed("list length", maxListItems)
			}
			return out, err
		}
	}
	return exec.NewMethodSet(all)
}

// guardDictMethods wraps the dict methods: a step a call and more for a
// large dict; what is stored must not nest too deeply, nor contain the
// dict.
func guardDictMethods(b *evalBudget, set *exec.MethodSet[map[string]any], names []string) *exec.MethodSet[map[string]any] {
	all := map[string]exec.Method[map[string]any]{}
	for _, name := range names {
		m, ok := set.Get(name)
		if !ok {
			continue
		}
		all[name] = func(self map[string]any, selfValue *exec.Value, args *exec.VarArgs) (any, error) {
			b.step(1 + len(self)/16)
			target := exec.AsValue(selfMap(self, selfValue))
			for _, a := range args.Args {
				storable(b, a, target)
			}
			for _, a := range args.KwArgs {
				storable(b, a, target)
			}
			return m(self, selfValue, args)
		}
	}
	return exec.NewMethodSet(all)
}

// comparingTests compare or search their input and argument, in time
// that grows with their length.
var comparingTests = map[string]bool{
	"eq": true, "equalto": true, "==": true, "ne": true, "!=": true, "in": true,
	"ge": true, ">=": true, "gt": true, "greaterthan": true, ">": true,
	"le": true, "<=": true, "lt": true, "lessthan": true, "<": true,
	"lower": true, "upper": true, "sameas": true,
}

type (
	contextTest   = func(*exec.Context, *exec.Value, *exec.VarArgs) (bool, error)
	evaluatorTest = func(*exec.Evaluator, *exec.Value, *exec.VarArgs) (bool, error)
)

// guardTest wraps a test: a step a call, and for those that compare, a
// step per bytesPerStep of their operands.
func guardTest(b *evalBudget, name string, test exec.TestFunction) exec.TestFunction {
	costly := comparingTests[name]
	charge := func(in *exec.Value, params *exec.VarArgs) {
		n := 1
		if costly {
			n += inputCost(in)
			for _, a := range params.Args {
				n += inputCost(a)
			}
		}
		b.step(n)
	}
	switch fn := test.(type) {
	case contextTest:
		return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) (bool, error) {
			charge(in, params)
			return fn(e.Environment.Context, in, params)
		}
	case evaluatorTest:
		return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) (bool, error) {
			charge(in, params)
			return fn(e, in, params)
		}
	}
	return test
}
