package chat

import (
	"fmt"
	"strings"
	"time"
)

// strftime formats t as Python's datetime.strftime does in the C locale,
// for the directives chat templates use (strftime_now("%d %b %Y") and
// the like). Unknown directives are kept as written, as glibc does.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		d := format[i]
		// glibc's "%-d" drops the padding.
		pad := true
		if d == '-' && i+1 < len(format) {
			pad = false
			i++
			d = format[i]
		}
		num := func(v, width int) string {
			if pad {
				return fmt.Sprintf("%0*d", width, v)
			}
			return fmt.Sprint(v)
		}
		switch d {
		case 'd':
			b.WriteString(num(t.Day(), 2))
		case 'e':
			b.WriteString(fmt.Sprintf("%2d", t.Day()))
		case 'm':
			b.WriteString(num(int(t.Month()), 2))
		case 'Y':
			b.WriteString(fmt.Sprint(t.Year()))
		case 'y':
			b.WriteString(num(t.Year()%100, 2))
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'H':
			b.WriteString(num(t.Hour(), 2))
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b.WriteString(num(h, 2))
		case 'M':
			b.WriteString(num(t.Minute(), 2))
		case 'S':
			b.WriteString(num(t.Second(), 2))
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'j':
			b.WriteString(num(t.YearDay(), 3))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			if !pad {
				b.WriteByte('-')
			}
			b.WriteByte(d)
		}
	}
	return b.String()
}
