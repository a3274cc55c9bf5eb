package grammar

import (
	"strings"
)

// build checks the parsed rules and lays them out as a Grammar.
func (p *parser) build() (*Grammar, error) {
	for id, name := range p.names {
		if !p.defined[id] {
			return nil, p.fail(p.firstRef[id], "rule %q is not defined", name)
		}
	}
	root, ok := p.ruleIdx["root"]
	if !ok {
		return nil, &RuleError{Msg: "no rule named root"}
	}
	g := &Grammar{classes: p.classes, rules: make([]rule, len(p.names)), root: root}
	n := 0
	for _, alts := range p.bodies {
		for _, a := range alts {
			n += len(a) + 1
		}
	}
	g.elems = make([]elem, 0, n)
	for id, alts := range p.bodies {
		r := &g.rules[id]
		r.name = p.names[id]
		for _, a := range alts {
			r.alts = append(r.alts, int32(len(g.elems)))
			g.elems = append(g.elems, a...)
			g.elems = append(g.elems, elem{kind: elemEnd})
		}
	}
	if err := g.checkLeftRecursion(); err != nil {
		return nil, err
	}
	if err := g.checkFinishes(); err != nil {
		return nil, err
	}
	return g, nil
}

// userName is the written rule a rule belongs to: groups and repetitions
// are rules named after the rule they appear in.
func userName(name string) string {
	if i := strings.IndexByte(name, '~'); i >= 0 {
		return name[:i]
	}
	return name
}

// nullable reports which rules can match the empty string.
func (g *Grammar) nullable() []bool {
	null := make([]bool, len(g.rules))
	for changed := true; changed; {
		changed = false
		for id, r := range g.rules {
			if null[id] {
				continue
			}
			for _, a := range r.alts {
				if g.seqNullable(a, null) {
					null[id], changed = true, true
					break
				}
			}
		}
	}
	return null
}

func (g *Grammar) seqNullable(pos int32, null []bool) bool {
	for ; g.elems[pos].kind != elemEnd; pos++ {
		e := g.elems[pos]
		if e.kind == elemChar || !null[e.arg] {
			return false
		}
	}
	return true
}

// checkLeftRecursion refuses a rule that can reach itself without
// reading a character: matching it would expand it forever.
func (g *Grammar) checkLeftRecursion() error {
	null := g.nullable()
	// edges[r]: the rules r can begin with.
	edges := make([][]int32, len(g.rules))
	for id, r := range g.rules {
		for _, a := range r.alts {
			for pos := a; g.elems[pos].kind == elemRef; pos++ {
				edges[id] = append(edges[id], g.elems[pos].arg)
				if !null[g.elems[pos].arg] {
					break
				}
			}
		}
	}
	const (
		unseen = iota
		open
		closed
	)
	state := make([]uint8, len(g.rules))
	// An explicit stack, so a deep grammar cannot overflow Go's stack.
	type frame struct{ rule, edge int32 }
	for startID := range g.rules {
		if state[startID] != unseen {
			continue
		}
		stack := []frame{{int32(startID), 0}}
		state[startID] = open
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if int(f.edge) == len(edges[f.rule]) {
				state[f.rule] = closed
				stack = stack[:len(stack)-1]
				continue
			}
			to := edges[f.rule][f.edge]
			f.edge++
			switch state[to] {
			case open:
				return &RuleError{Rule: userName(g.rules[to].name), Msg: "is left-recursive: it can reach itself before reading any character"}
			case unseen:
				state[to] = open
				stack = append(stack, frame{to, 0})
			}
		}
	}
	return nil
}

// checkFinishes refuses a grammar with a rule, reachable from root, that
// no finite text completes (every alternative needs the rule again).
func (g *Grammar) checkFinishes() error {
	done := make([]bool, len(g.rules))
	for changed := true; changed; {
		changed = false
		for id, r := range g.rules {
			if done[id] {
				continue
			}
			for _, a := range r.alts {
				ok := true
				for pos := a; g.elems[pos].kind != elemEnd; pos++ {
					if e := g.elems[pos]; e.kind == elemRef && !done[e.arg] {
						ok = false
						break
					}
				}
				if ok {
					done[id], changed = true, true
					break
				}
			}
		}
	}
	seen := make([]bool, len(g.rules))
	work := []int32{g.root}
	seen[g.root] = true
	for len(work) > 0 {
		id := work[len(work)-1]
		work = work[:len(work)-1]
		if !done[id] {
			return &RuleError{Rule: userName(g.rules[id].name), Msg: "can never finish: every alternative needs the rule again"}
		}
		for _, a := range g.rules[id].alts {
			for pos := a; g.elems[pos].kind != elemEnd; pos++ {
				if e := g.elems[pos]; e.kind == elemRef && !seen[e.arg] {
					seen[e.arg] = true
					work = append(work, e.arg)
				}
			}
		}
	}
	return nil
}
