package toolcall

// objectScan finds, incrementally, where the JSON object at the start of
// a block body ends, so that a stream can tell when a call is complete
// without decoding its whole body again for every piece. It checks only
// the structure (strings, escapes, nesting) and the characters allowed
// outside strings; the value it delimits is validated afterwards. It
// agrees with a JSON decoder on where every valid object ends, and it
// fails or finds an invalid value wherever the decoder would fail.
type objectScan struct {
	pos     int // bytes of the body scanned
	depth   int
	inStr   bool
	esc     bool
	started bool
	state   scanState
	start   int // where the object starts in the body
	end     int // where it ends, once state is scanDone
}

type scanState int

const (
	scanMore scanState = iota
	scanDone
	scanFailed
)

// feed scans body, which extends what earlier calls saw, as far as it can.
func (sc *objectScan) feed(body string) scanState {
	for ; sc.state == scanMore && sc.pos < len(body); sc.pos++ {
		c := body[sc.pos]
		switch {
		case !sc.started:
			switch c {
			case ' ', '\t', '\n', '\r':
			case '{':
				sc.started, sc.depth, sc.start = true, 1, sc.pos
			default:
				sc.state = scanFailed
			}
		case sc.inStr:
			switch {
			case sc.esc:
				sc.esc = false
			case c == '\\':
				sc.esc = true
			case c == '"':
				sc.inStr = false
			}
		case c == '"':
			sc.inStr = true
		case c == '{' || c == '[':
			sc.depth++
		case c == '}' || c == ']':
			sc.depth--
			if sc.depth == 0 {
				sc.state, sc.end = scanDone, sc.pos+1
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' ||
			c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		default:
			sc.state = scanFailed
		}
	}
	return sc.state
}
