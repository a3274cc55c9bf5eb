package config

import (
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// lines maps each key of a document, as a dotted path ("routes.a.use"),
// to the line it is written on, so that problems found after decoding
// can point at their line. Keys inside inline tables are included; array
// elements share their key's line.
func keyLines(data []byte) map[string]int {
	out := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyOf(e)
			record(&p, out, table, e)
		case unstable.KeyValue:
			path := append(append([]string{}, table...), keyOf(e)...)
			record(&p, out, path, e)
			inline(&p, out, path, e.Value())
		}
	}
	return out
}

// inline records the keys of an inline table value.
func inline(p *unstable.Parser, out map[string]int, path []string, v *unstable.Node) {
	if v == nil || v.Kind != unstable.InlineTable {
		return
	}
	it := v.Children()
	for it.Next() {
		kv := it.Node()
		if kv.Kind != unstable.KeyValue {
			continue
		}
		sub := append(append([]string{}, path...), keyOf(kv)...)
		record(p, out, sub, kv)
		inline(p, out, sub, kv.Value())
	}
}

func keyOf(n *unstable.Node) []string {
	var parts []string
	it := n.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

func record(p *unstable.Parser, out map[string]int, path []string, n *unstable.Node) {
	it := n.Key()
	if !it.Next() {
		return
	}
	key := strings.Join(path, ".")
	if _, seen := out[key]; !seen {
		out[key] = p.Shape(it.Node().Raw).Start.Line
	}
}
