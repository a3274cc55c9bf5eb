package chat

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// jinjaEnvironment is gonja's standard environment with the built-ins
// that chat templates lean on made to behave as Python's do.
var jinjaEnvironment = func() *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	for name, fn := range map[string]exec.FilterFunction{
		"tojson": filterToJSON,
		"trim":   filterTrim,
		"items":  filterItems,
		"list":   filterList,
	} {
		if err := filters.Replace(name, fn); err != nil {
			panic(err) // gonja renamed a built-in: a programming error
		}
	}
	methods := builtins.Methods
	methods.Dict = overrideMethods(methods.Dict, setNames(methods.Dict), map[string]exec.Method[map[string]any]{
		"keys":   dictKeys,
		"values": dictValues,
		"items":  dictItems,
	})
	methods.Str = overrideMethods(methods.Str, strMethodNames, map[string]exec.Method[string]{
		"strip":  strStrip(true, true),
		"lstrip": strStrip(true, false),
		"rstrip": strStrip(false, true),
		"split":  strSplit,
	})
	structures := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{}).Update(builtins.ControlStructures)
	if err := structures.Register("generation", generationParser); err != nil {
		panic(err)
	}
	return &exec.Environment{
		Context:           exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables),
		Filters:           filters,
		Tests:             builtins.Tests,
		ControlStructures: structures,
		Methods:           methods,
	}
}()

// setNames lists the names in a gonja filter or method set. gonja keeps
// them in an unexported map; every one must be guarded, including any a
// later gonja adds.
func setNames(set any) []string {
	v := reflect.ValueOf(set).Elem()
	for i := range v.NumField() {
		if m := v.Field(i); m.Kind() == reflect.Map {
			names := make([]string, 0, m.Len())
			for _, k := range m.MapKeys() {
				names = append(names, k.String())
			}
			sort.Strings(names)
			return names
		}
	}
	return nil
}

// generationBlock is transformers' {% generation %} … {% endgeneration %},
// which marks the assistant's tokens for training and prints its body.
type generationBlock struct{ body *nodes.Wrapper }

func (g *generationBlock) Position() *tokens.Token { return g.body.Position() }
func (g *generationBlock) String() string          { return "generation" }

func (g *generationBlock) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	return r.Inherit().ExecuteWrapper(g.body)
}

func generationParser(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	body, _, err := p.WrapUntil("endgeneration")
	if err != nil {
		return nil, err
	}
	if !args.Stream().End() {
		return nil, args.Error("generation takes no arguments", nil)
	}
	return &generationBlock{body: body}, nil
}

var strMethodNames = []string{
	"capitalize", "capwords", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find",
	"format", "format_map", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric",
	"isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition",
	"removeprefix", "removesuffix", "replace", "rfind", "rjust", "rpartition", "rsplit", "rstrip", "split",
	"splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill",
}

// overrideMethods copies the named methods of set and replaces some.
func overrideMethods[I any](set *exec.MethodSet[I], names []string, with map[string]exec.Method[I]) *exec.MethodSet[I] {
	all := map[string]exec.Method[I]{}
	for _, n := range names {
		if m, ok := set.Get(n); ok {
			all[n] = m
		}
	}
	for n, m := range with {
		all[n] = m
	}
	return exec.NewMethodSet(all)
}

// filterList is Jinja's list filter, giving a pyList.
func filterList(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	out := pyList{}
	if in.IsString() {
		for _, r := range in.String() {
			out = append(out, string(r))
		}
		return exec.AsValue(out)
	}
	if in.IsDict() {
		if m, ok := in.Interface().(map[string]any); ok {
			for _, k := range orderedKeys(reflect.ValueOf(m)) {
				out = append(out, k)
			}
			return exec.AsValue(out)
		}
	}
	in.Iterate(func(_, _ int, key, _ *exec.Value) bool {
		out = append(out, key.Interface())
		return true
	}, func() {})
	return exec.AsValue(out)
}

// maxJSONIndent bounds tojson's indent, which is written once a level
// per line.
const maxJSONIndent = 1 << 10

// filterToJSON is transformers' tojson: json.dumps(x, ensure_ascii=False,
// indent=indent), without Jinja's HTML escaping.
func filterToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	indent := 0
	arg := params.GetKeywordArgument("indent", nil)
	if len(params.Args) > 0 {
		arg = params.Args[0]
	}
	if !arg.IsNil() {
		if !arg.IsInteger() {
			return exec.AsValue(fmt.Errorf("tojson: indent must be an integer, not %s", arg.String()))
		}
		indent = arg.Integer()
	}
	if indent > maxJSONIndent {
		exceed("tojson indent", maxJSONIndent)
	}
	var b strings.Builder
	if err := pyEncode(&b, in.Interface(), indent, 0); err != nil {
		if errors.Is(err, errJSONTooLarge) {
			exceed("string size", maxValueBytes)
		}
		return exec.AsValue(err)
	}
	return exec.AsSafeValue(b.String())
}

// filterTrim is Jinja's trim: Python's str.strip(chars).
func filterTrim(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	s := jinjaText(in)
	chars := params.GetKeywordArgument("chars", nil)
	if len(params.Args) > 0 {
		chars = params.Args[0]
	}
	if chars.IsNil() {
		return exec.AsValue(pyStrip(s))
	}
	return exec.AsValue(strings.Trim(s, chars.String()))
}

// jinjaText is a value as Jinja's string filters see it (str(value)).
func jinjaText(v *exec.Value) string {
	if v.IsNil() {
		return "None"
	}
	return v.String()
}

// filterItems is Jinja's items filter, in insertion order.
func filterItems(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if in.IsNil() {
		return exec.AsValue(pyList{})
	}
	m, ok := in.Interface().(map[string]any)
	if !ok {
		return exec.AsValue(errors.New("items: want a mapping"))
	}
	return exec.AsValue(pairs(m))
}

func pairs(m map[string]any) pyList {
	keys := orderedKeys(reflect.ValueOf(m))
	out := make(pyList, 0, len(keys))
	for _, k := range keys {
		out = append(out, pyList{k, m[k]})
	}
	return out
}

func selfMap(self map[string]any, selfValue *exec.Value) map[string]any {
	if m, ok := selfValue.Interface().(map[string]any); ok {
		return m
	}
	return self
}

func dictKeys(self map[string]any, selfValue *exec.Value, _ *exec.VarArgs) (any, error) {
	keys := orderedKeys(reflect.ValueOf(selfMap(self, selfValue)))
	out := make(pyList, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out, nil
}

func dictValues(self map[string]any, selfValue *exec.Value, _ *exec.VarArgs) (any, error) {
	m := selfMap(self, selfValue)
	keys := orderedKeys(reflect.ValueOf(m))
	out := make(pyList, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out, nil
}

func dictItems(self map[string]any, selfValue *exec.Value, _ *exec.VarArgs) (any, error) {
	return pairs(selfMap(self, selfValue)), nil
}

// strStrip is Python's str.strip, lstrip and rstrip: with no argument (or
// None) they remove whitespace as Python defines it, with an argument the
// characters it lists.
func strStrip(left, right bool) exec.Method[string] {
	return func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
		if len(args.Args) > 1 {
			return nil, exec.ErrInvalidCall(errors.New("strip takes at most one argument"))
		}
		isCut := pyIsSpace
		if len(args.Args) == 1 && !args.Args[0].IsNil() {
			if !args.Args[0].IsString() {
				return nil, exec.ErrInvalidCall(errors.New("strip arg must be None or str"))
			}
			chars := args.Args[0].String()
			isCut = func(r rune) bool { return strings.ContainsRune(chars, r) }
		}
		if left {
			self = strings.TrimLeftFunc(self, isCut)
		}
		if right {
			self = strings.TrimRightFunc(self, isCut)
		}
		return self, nil
	}
}

// strSplit is Python's str.split(sep=None, maxsplit=-1).
func strSplit(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
	sep := args.GetKeywordArgument("sep", nil)
	maxSplit := args.GetKeywordArgument("maxsplit", -1)
	if len(args.Args) > 0 {
		sep = args.Args[0]
	}
	if len(args.Args) > 1 {
		maxSplit = args.Args[1]
	}
	if len(args.Args) > 2 || !maxSplit.IsInteger() {
		return nil, exec.ErrInvalidCall(errors.New("split takes (sep=None, maxsplit=-1)"))
	}
	n := maxSplit.Integer()
	var parts []string
	if sep.IsNil() {
		parts = splitWhitespace(self, n)
	} else {
		s := sep.String()
		if s == "" {
			return nil, exec.ErrInvalidCall(errors.New("split: empty separator"))
		}
		if n < 0 {
			parts = strings.Split(self, s)
		} else {
			parts = strings.SplitN(self, s, n+1)
		}
	}
	out := make(pyList, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// splitWhitespace is Python's split() with no separator: runs of
// whitespace separate, and there are no empty parts.
func splitWhitespace(s string, maxSplit int) []string {
	var parts []string
	for {
		s = strings.TrimLeftFunc(s, pyIsSpace)
		if s == "" {
			return parts
		}
		if maxSplit >= 0 && len(parts) == maxSplit {
			return append(parts, s)
		}
		end := strings.IndexFunc(s, pyIsSpace)
		if end < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:end])
		s = s[end:]
	}
}

// boundedRange is Python's range, refusing ranges so long that a template
// could spin on them.
func boundedRange(_ *exec.Evaluator, params *exec.VarArgs) ([]int, error) {
	ints := make([]int, len(params.Args))
	for i, a := range params.Args {
		if !a.IsInteger() {
			return nil, exec.ErrInvalidCall(errors.New("range: arguments must be integers"))
		}
		ints[i] = a.Integer()
	}
	start, stop, step := 0, 0, 1
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return nil, exec.ErrInvalidCall(errors.New("range: want 1 to 3 arguments"))
	}
	if step == 0 {
		return nil, exec.ErrInvalidCall(errors.New("range: step must not be zero"))
	}
	n := 0.0
	if step > 0 && stop > start {
		n = math.Ceil(float64(stop-start) / float64(step))
	} else if step < 0 && stop < start {
		n = math.Ceil(float64(start-stop) / float64(-step))
	}
	if n > maxRange {
		return nil, exec.ErrInvalidCall(fmt.Errorf("range: more than %d items", maxRange))
	}
	out := make([]int, 0, int(n))
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		out = append(out, i)
	}
	return out, nil
}
