package grammar

import (
	"fmt"
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
	if err := g.checkWidth(); err != nil {
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
func (g *Grammar) nullable() []bool { return g.fixpoint(false) }

// fixpoint marks the rules with an alternative whose every element is a
// reference to a marked rule or, if chars, a character: with chars
// false, the rules that can match the empty string; with chars true,
// those that some finite text completes. It is the linear worklist
// algorithm, so a long chain of rules costs no more than a short one.
func (g *Grammar) fixpoint(chars bool) []bool {
	var owner []int32 // each alternative's rule
	var pending []int // each alternative's unmarked references; -1: never
	users := make([][]int32, len(g.rules))
	marked := make([]bool, len(g.rules))
	var queue []int32
	for r, ru := range g.rules {
		for _, a := range ru.alts {
			alt := int32(len(owner))
			n := 0
			for pos := a; g.elems[pos].kind != elemEnd; pos++ {
				if e := g.elems[pos]; e.kind == elemChar {
					if !chars {
						n = -1
						break
					}
				} else {
					n++
					users[e.arg] = append(users[e.arg], alt)
				}
			}
			owner = append(owner, int32(r))
			pending = append(pending, n)
			if n == 0 && !marked[r] {
				marked[r] = true
				queue = append(queue, int32(r))
			}
		}
	}
	for len(queue) > 0 {
		r := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, alt := range users[r] {
			if pending[alt] <= 0 {
				continue
			}
			if pending[alt]--; pending[alt] == 0 && !marked[owner[alt]] {
				marked[owner[alt]] = true
				queue = append(queue, owner[alt])
			}
		}
	}
	return marked
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
	done := g.fixpoint(true)
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

// maxWidth bounds the ways a grammar position can begin: the character
// classes the matcher may have to try at once from it. Ambiguity of this
// kind comes from bounded repetitions of things that may be empty, as in
// ("a"?){10000}, where every one of the 10000 levels can be skipped; the
// matcher would hold (and remember) a stack for each.
const maxWidth = 1024

// checkWidth refuses a grammar with a position that can begin in more
// than maxWidth ways (counting through rules that may be empty).
func (g *Grammar) checkWidth() error {
	null := g.nullable()
	ruleW := make([]int, len(g.rules))
	for i := range ruleW {
		ruleW[i] = -1
	}
	posW := make([]int, len(g.elems))
	for i := range posW {
		posW[i] = -1
	}
	var rw func(r int32) int
	// pw is the number of character positions that can come first from
	// elems[pos:] up to its alternative's end; it saturates past
	// maxWidth. The recursion follows the left corners, which Parse has
	// proved acyclic.
	var pw func(pos int32) int
	pw = func(pos int32) int {
		if posW[pos] >= 0 {
			return posW[pos]
		}
		w := 0
		switch e := g.elems[pos]; e.kind {
		case elemChar:
			w = 1
		case elemRef:
			w = rw(e.arg)
			if null[e.arg] {
				w += pw(pos + 1)
			}
		}
		w = min(w, maxWidth+1)
		posW[pos] = w
		return w
	}
	rw = func(r int32) int {
		if ruleW[r] >= 0 {
			return ruleW[r]
		}
		w := 0
		for _, a := range g.rules[r].alts {
			w = min(w+pw(a), maxWidth+1)
		}
		ruleW[r] = w
		return w
	}
	for pos := range g.elems {
		if pw(int32(pos)) > maxWidth {
			owner := ""
			for _, r := range g.rules {
				for _, a := range r.alts {
					if a <= int32(pos) {
						owner = r.name
					}
				}
			}
			return &RuleError{Rule: userName(owner), Msg: fmt.Sprintf("can begin in more than %d ways (a long repetition of something that may be empty?)", maxWidth), Err: ErrLimit}
		}
	}
	return nil
}
