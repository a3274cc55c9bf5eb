package llm

import (
	"fmt"
	"strings"
)

// ToolChoiceMode says whether the model may, must or must not call a
// tool.
type ToolChoiceMode int

const (
	// ToolAuto lets the model decide whether to call tools.
	ToolAuto ToolChoiceMode = iota
	// ToolNone leaves the tools out of the prompt: the model answers in
	// text, and no calls are parsed.
	ToolNone
	// ToolRequired makes the model call one of the request's tools.
	ToolRequired
	// ToolNamed makes the model call the tool ToolChoice.Name.
	ToolNamed
)

// ToolChoice is a [ToolChoiceMode] and, for ToolNamed, the tool. Its zero
// value is ToolAuto. Its text form, used in JSON, is "auto", "none",
// "required" or "tool:NAME".
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string
}

// ToolChoiceNamed returns the choice that forces a call of the named tool.
func ToolChoiceNamed(name string) ToolChoice { return ToolChoice{Mode: ToolNamed, Name: name} }

func (c ToolChoice) String() string {
	switch c.Mode {
	case ToolAuto:
		return "auto"
	case ToolNone:
		return "none"
	case ToolRequired:
		return "required"
	case ToolNamed:
		return "tool:" + c.Name
	}
	return fmt.Sprintf("ToolChoiceMode(%d)", int(c.Mode))
}

// MarshalText writes the choice's text form.
func (c ToolChoice) MarshalText() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return []byte(c.String()), nil
}

// UnmarshalText reads the choice's text form.
func (c *ToolChoice) UnmarshalText(b []byte) error {
	s := string(b)
	switch s {
	case "auto", "":
		*c = ToolChoice{}
	case "none":
		*c = ToolChoice{Mode: ToolNone}
	case "required":
		*c = ToolChoice{Mode: ToolRequired}
	default:
		name, ok := strings.CutPrefix(s, "tool:")
		if !ok || name == "" {
			return fmt.Errorf(`tool choice %q is not "auto", "none", "required" or "tool:NAME"`, s)
		}
		*c = ToolChoiceNamed(name)
	}
	return nil
}

func (c ToolChoice) validate() error {
	switch {
	case c.Mode < ToolAuto || c.Mode > ToolNamed:
		return fmt.Errorf("unknown tool choice mode %d", int(c.Mode))
	case c.Mode == ToolNamed && c.Name == "":
		return fmt.Errorf("a named tool choice has no name")
	case c.Mode != ToolNamed && c.Name != "":
		return fmt.Errorf("tool choice %s names a tool", c)
	}
	return nil
}
