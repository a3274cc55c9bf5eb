package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// The bounds of list_files and grep results, for the same reason as
// read_file's: the model should narrow a search, not drown in it.
const (
	listMaxFiles   = 1000
	grepMaxMatches = 500
	grepMaxBytes   = 64 << 10
	grepMaxLine    = 300
	// grepScanLine is how much of one line grep searches; the rest of a
	// longer line (minified code, data) is skipped.
	grepScanLine = 64 << 10
)

// skippedDir reports whether a walk leaves out a directory: version control
// internals and installed dependencies are large, rarely what a model is
// looking for, and would crowd out the project's own files. A walk that
// starts inside one of them still walks it.
func skippedDir(name string) bool {
	return name == ".git" || name == "node_modules"
}

// globPattern is a slash-separated glob in which a "**" segment matches any
// number of directories, zero included, and other segments follow
// [path.Match]. It is a few lines over path.Match rather than a dependency:
// the tools need nothing more ("{a,b}" alternatives are not supported).
type globPattern []string

func compileGlob(pattern string) (globPattern, error) {
	pattern = strings.TrimPrefix(path.Clean(strings.TrimPrefix(pattern, "./")), "./")
	if pattern == "" || pattern == "." {
		return nil, errors.New("empty pattern")
	}
	if strings.HasPrefix(pattern, "/") {
		return nil, fmt.Errorf("pattern %q is absolute; patterns are relative to path", pattern)
	}
	segs := strings.Split(pattern, "/")
	for _, s := range segs {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", pattern, err)
		}
	}
	return globPattern(segs), nil
}

// match reports whether the slash-separated relative path name matches.
// It fills a table of which pattern suffixes match which name suffixes,
// so a pattern with many "**" costs time proportional to pattern length
// times name depth, where trying every split point for every "**" would
// grow exponentially.
func (g globPattern) match(name string) bool {
	segs := strings.Split(name, "/")
	// next[j] is whether g[i+1:] matches segs[j:], cur[j] whether g[i:]
	// does; the empty pattern matches only the empty rest of a name.
	next := make([]bool, len(segs)+1)
	cur := make([]bool, len(segs)+1)
	next[len(segs)] = true
	for i := len(g) - 1; i >= 0; i-- {
		for j := len(segs); j >= 0; j-- {
			switch {
			case g[i] == "**":
				// Match no segment, or one and stay on "**".
				cur[j] = next[j] || (j < len(segs) && cur[j+1])
			case j < len(segs):
				ok, _ := path.Match(g[i], segs[j])
				cur[j] = ok && next[j+1]
			default:
				cur[j] = false
			}
		}
		next, cur = cur, next
	}
	return next[0]
}

// walkFiles calls fn for every file (anything but a directory) beneath the
// slash-separated workspace path start, in lexical order, with its path
// relative to the workspace and relative to start. Symbolic links are
// reported but not followed, so a walk never leaves the workspace or loops.
// Directories it cannot read are skipped: one unreadable directory should
// not hide every other result.
func (w *Workspace) walkFiles(ctx context.Context, start string, fn func(name, rel string) error) error {
	fsys := w.root.FS()
	fi, err := fs.Stat(fsys, start)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fn(start, path.Base(start))
	}
	return fs.WalkDir(fsys, start, func(name string, d fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			if name == start {
				return err
			}
			return fs.SkipDir
		}
		if d.IsDir() {
			if name != start && skippedDir(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		rel := name
		if start != "." {
			rel = strings.TrimPrefix(name, start+"/")
		}
		return fn(name, rel)
	})
}

// listFilesTool is list_files: find files by glob.
type listFilesTool struct{ ws *Workspace }

type listFilesInput struct {
	Pattern string `json:"pattern"`
	Path    string `json:"path"`
}

func (t listFilesTool) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "list_files",
		Description: fmt.Sprintf("List the files in the workspace whose paths match a glob, sorted by path. "+
			"The pattern is matched against the whole path relative to `path`: \"*\" matches within one directory level, "+
			"\"**\" matches any number of directories, \"?\" one character, \"[abc]\" a set. "+
			"\"*.go\" matches only files directly in `path`; \"**/*.go\" matches at any depth. "+
			"Directories named .git and node_modules are skipped. At most %d files are listed.", listMaxFiles),
		InputSchema: json.RawMessage(`{"type":"object","properties":{` +
			`"pattern":{"type":"string","description":"Glob, relative to path, e.g. \"**/*_test.go\" or \"cmd/*/main.go\". Default \"**\" (every file)."},` +
			`"path":{"type":"string","description":"Directory to search, relative to the workspace root. Default the workspace root."}` +
			`},"additionalProperties":false}`),
	}
}

func (t listFilesTool) Run(ctx context.Context, input json.RawMessage) (string, error) {
	var in listFilesInput
	if err := decodeInput("list_files", input, &in); err != nil {
		return "", err
	}
	if in.Pattern == "" {
		in.Pattern = "**"
	}
	if in.Path == "" {
		in.Path = "."
	}
	glob, err := compileGlob(in.Pattern)
	if err != nil {
		return "", fmt.Errorf("list_files: %w", err)
	}
	start, err := t.ws.rel(in.Path)
	if err != nil {
		return "", err
	}
	var found []string
	err = t.ws.walkFiles(ctx, start, func(name, rel string) error {
		if glob.match(rel) {
			found = append(found, name)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fileError(in.Path, err)
	}
	if len(found) == 0 {
		return fmt.Sprintf("no files match %q in %s\n", in.Pattern, in.Path), nil
	}
	slices.Sort(found)
	var out strings.Builder
	for _, f := range found[:min(len(found), listMaxFiles)] {
		out.WriteString(f)
		out.WriteByte('\n')
	}
	if len(found) > listMaxFiles {
		fmt.Fprintf(&out, "[%d of %d files listed; narrow the pattern or the path to see the rest]\n", listMaxFiles, len(found))
	}
	return out.String(), nil
}

// grepTool is grep: search file contents by regular expression.
type grepTool struct{ ws *Workspace }

type grepInput struct {
	Pattern string `json:"pattern"`
	Path    string `json:"path"`
	Glob    string `json:"glob"`
}

func (t grepTool) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "grep",
		Description: fmt.Sprintf("Search the contents of the workspace's text files for a regular expression (Go RE2 syntax: "+
			"no backreferences or lookaround; prefix (?i) to ignore case). Each matching line is shown as \"file:line: text\". "+
			"Binary files and the .git and node_modules directories are skipped. At most %d matches are shown.", grepMaxMatches),
		InputSchema: json.RawMessage(`{"type":"object","properties":{` +
			`"pattern":{"type":"string","description":"Regular expression (RE2), matched against each line."},` +
			`"path":{"type":"string","description":"File or directory to search, relative to the workspace root. Default the workspace root."},` +
			`"glob":{"type":"string","description":"Only search files matching this glob: without a \"/\" it matches file names at any depth (\"*.go\"); with one, paths relative to path (\"internal/**/*.go\")."}` +
			`},"required":["pattern"],"additionalProperties":false}`),
	}
}

func (t grepTool) Run(ctx context.Context, input json.RawMessage) (string, error) {
	var in grepInput
	if err := decodeInput("grep", input, &in); err != nil {
		return "", err
	}
	if in.Pattern == "" {
		return "", errors.New("grep: pattern is required")
	}
	re, err := regexp.Compile(in.Pattern)
	if err != nil {
		return "", fmt.Errorf("grep: bad pattern: %w", err)
	}
	var glob globPattern
	byName := false
	if in.Glob != "" {
		if glob, err = compileGlob(in.Glob); err != nil {
			return "", fmt.Errorf("grep: glob: %w", err)
		}
		byName = !strings.Contains(in.Glob, "/")
	}
	if in.Path == "" {
		in.Path = "."
	}
	start, err := t.ws.rel(in.Path)
	if err != nil {
		return "", err
	}

	var out strings.Builder
	matches, more := 0, false
	errFull := errors.New("enough matches")
	err = t.ws.walkFiles(ctx, start, func(name, rel string) error {
		if glob != nil {
			subject := rel
			if byName {
				subject = path.Base(rel)
			}
			if !glob.match(subject) {
				return nil
			}
		}
		return t.grepFile(ctx, re, name, func(lineNo int, line []byte) bool {
			entry := fmt.Sprintf("%s:%d: %s", name, lineNo, cutUTF8(line, grepMaxLine))
			if matches == grepMaxMatches || out.Len()+len(entry)+1 > grepMaxBytes {
				more = true
				return false
			}
			out.WriteString(entry)
			out.WriteByte('\n')
			matches++
			return true
		}, errFull)
	})
	switch {
	case errors.Is(err, errFull):
	case err != nil && ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil:
		return "", fileError(in.Path, err)
	}
	if matches == 0 {
		return fmt.Sprintf("no matches for %q in %s\n", in.Pattern, in.Path), nil
	}
	if more {
		fmt.Fprintf(&out, "[stopped after %d matches; narrow the pattern, path or glob to see the rest]\n", matches)
	}
	return out.String(), nil
}

// grepFile feeds the lines of name matching re to emit, in order, until
// emit returns false, when it returns stop. A file that cannot be opened
// or read (a link leading out of the workspace, a permission problem) and
// anything but a regular file (a named pipe would block) are skipped, like
// binary files: grep reports what it can search.
func (t grepTool) grepFile(ctx context.Context, re *regexp.Regexp, name string, emit func(int, []byte) bool, stop error) error {
	f, err := t.ws.openRegular(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if head, err := br.Peek(sniffLen); (err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull)) || isBinary(head) {
		return nil
	}
	for lineNo := 1; ; lineNo++ {
		if lineNo%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, _, err := readLine(br, grepScanLine)
		if err != nil {
			return nil
		}
		if re.Match(line) && !emit(lineNo, line) {
			return stop
		}
	}
}
