package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// filePathProperty is the JSON Schema of the file tools' path.
const filePathProperty = `"path":{"type":"string","description":"File path, relative to the workspace root (an absolute path must lie inside the workspace)."}`

// The bounds of one read_file result. A model's context is small and
// expensive: a file larger than this is read in pages (offset, limit), and
// the result says where the next page starts.
const (
	readMaxLines    = 2000
	readMaxBytes    = 100 << 10
	readMaxLineSize = 2000
)

// readFileTool is read_file: a file's text with line numbers.
type readFileTool struct{ ws *Workspace }

type readFileInput struct {
	Path   string `json:"path"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
}

func (t readFileTool) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "read_file",
		Description: fmt.Sprintf("Read a text file in the workspace. Each line is shown as its line number, a tab, and the line's text; "+
			"the numbers and the tab are not part of the file (leave them out of edit_file's old_text). "+
			"At most %d lines or %d KiB are returned at a time, lines longer than %d bytes are cut; when the file goes on, "+
			"the result ends with the offset to read the next part from. Binary files are refused.",
			readMaxLines, readMaxBytes>>10, readMaxLineSize),
		InputSchema: json.RawMessage(`{"type":"object","properties":{` +
			filePathProperty + `,` +
			`"offset":{"type":"integer","minimum":1,"description":"Line number to start at (1-based). Default 1."},` +
			`"limit":{"type":"integer","minimum":1,"description":"Most lines to return. Default and maximum ` + fmt.Sprint(readMaxLines) + `."}` +
			`},"required":["path"],"additionalProperties":false}`),
	}
}

func (t readFileTool) Run(ctx context.Context, input json.RawMessage) (string, error) {
	var in readFileInput
	if err := decodeInput("read_file", input, &in); err != nil {
		return "", err
	}
	if in.Offset < 0 || in.Limit < 0 {
		return "", errors.New("read_file: offset and limit must be positive")
	}
	offset, limit := max(in.Offset, 1), in.Limit
	if limit == 0 || limit > readMaxLines {
		limit = readMaxLines
	}
	_, f, err := t.ws.openPath(in.Path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if head, err := br.Peek(sniffLen); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", fileError(in.Path, err)
	} else if isBinary(head) {
		return "", fmt.Errorf("%s is a binary file (it contains NUL bytes); read_file reads text only", in.Path)
	}

	var out strings.Builder
	lineNo, shown := 0, 0
	for {
		if lineNo%1024 == 0 && ctx.Err() != nil {
			return "", ctx.Err()
		}
		line, cut, err := readLine(br, readMaxLineSize)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fileError(in.Path, err)
		}
		lineNo++
		if bytes.IndexByte(line, 0) >= 0 {
			return "", fmt.Errorf("%s is a binary file (line %d contains a NUL byte); read_file reads text only", in.Path, lineNo)
		}
		if lineNo < offset {
			continue
		}
		entry := fmt.Sprintf("%6d\t%s", lineNo, cutUTF8(line, readMaxLineSize))
		if cut {
			entry += " [line cut]"
		}
		if shown == limit || out.Len()+len(entry)+1 > readMaxBytes {
			// Reading one line past the page tells "ends here" from
			// "goes on" without counting the rest of a large file.
			fmt.Fprintf(&out, "[the file goes on: read_file with offset=%d reads the next part]\n", lineNo)
			return out.String(), nil
		}
		out.WriteString(entry)
		out.WriteByte('\n')
		shown++
	}
	switch {
	case lineNo == 0:
		return fmt.Sprintf("[%s is empty]\n", in.Path), nil
	case shown == 0:
		return "", fmt.Errorf("offset %d is past the end of %s, which has %d lines", offset, in.Path, lineNo)
	}
	return out.String(), nil
}

// writeFileTool is write_file: create or replace a whole file.
type writeFileTool struct{ ws *Workspace }

type writeFileInput struct {
	Path    string  `json:"path"`
	Content *string `json:"content"`
}

func (t writeFileTool) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "write_file",
		Description: "Create a file in the workspace or replace its whole content. Missing parent directories are created. " +
			"The file is replaced atomically: readers see the old or the new content, never a mix. " +
			"To change part of an existing file, edit_file is shorter and safer.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{` +
			filePathProperty + `,` +
			`"content":{"type":"string","description":"The file's complete new content."}` +
			`},"required":["path","content"],"additionalProperties":false}`),
	}
}

func (t writeFileTool) Run(ctx context.Context, input json.RawMessage) (string, error) {
	var in writeFileInput
	if err := decodeInput("write_file", input, &in); err != nil {
		return "", err
	}
	if in.Content == nil {
		return "", errors.New("write_file: content is required (use \"\" for an empty file)")
	}
	name, err := t.ws.rel(in.Path)
	if err != nil {
		return "", err
	}
	if name == "." {
		return "", fmt.Errorf("write_file: %s is the workspace directory, not a file", in.Path)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := t.ws.writeAtomic(name, []byte(*in.Content)); err != nil {
		return "", fileError(in.Path, err)
	}
	return fmt.Sprintf("wrote %d bytes to %s", len(*in.Content), name), nil
}

// editFileTool is edit_file: replace exact text in a file.
type editFileTool struct{ ws *Workspace }

type editFileInput struct {
	Path       string  `json:"path"`
	OldText    string  `json:"old_text"`
	NewText    *string `json:"new_text"`
	ReplaceAll bool    `json:"replace_all"`
}

func (t editFileTool) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "edit_file",
		Description: "Replace exact text in a file in the workspace. old_text must match the file byte for byte, indentation included, " +
			"and occur exactly once, unless replace_all is true; include enough surrounding lines to make it unique. " +
			"Do not include read_file's line numbers. An empty new_text deletes old_text.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{` +
			filePathProperty + `,` +
			`"old_text":{"type":"string","description":"The exact text to replace; must not be empty."},` +
			`"new_text":{"type":"string","description":"The text to put in its place."},` +
			`"replace_all":{"type":"boolean","description":"Replace every occurrence instead of requiring exactly one. Default false."}` +
			`},"required":["path","old_text","new_text"],"additionalProperties":false}`),
	}
}

func (t editFileTool) Run(ctx context.Context, input json.RawMessage) (string, error) {
	var in editFileInput
	if err := decodeInput("edit_file", input, &in); err != nil {
		return "", err
	}
	if in.OldText == "" {
		return "", errors.New("edit_file: old_text is empty; to create or replace a whole file use write_file")
	}
	if in.NewText == nil {
		return "", errors.New("edit_file: new_text is required (use \"\" to delete old_text)")
	}
	if *in.NewText == in.OldText {
		return "", errors.New("edit_file: old_text and new_text are the same; nothing would change")
	}
	name, f, err := t.ws.openPath(in.Path)
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return "", fileError(in.Path, err)
	}
	if isBinary(data) {
		return "", fmt.Errorf("%s is a binary file; edit_file edits text only", in.Path)
	}
	text := string(data)
	oldText, newText := in.OldText, *in.NewText
	n := strings.Count(text, oldText)
	if n == 0 && strings.Contains(text, "\r\n") && strings.Contains(oldText, "\n") && !strings.Contains(oldText, "\r\n") {
		// read_file shows a CRLF file's lines without the "\r"; the
		// model's text then has "\n" endings. Matching in the file's own
		// line endings keeps them consistent.
		oldText = strings.ReplaceAll(oldText, "\n", "\r\n")
		newText = strings.ReplaceAll(strings.ReplaceAll(newText, "\r\n", "\n"), "\n", "\r\n")
		n = strings.Count(text, oldText)
	}
	switch {
	case n == 0:
		return "", fmt.Errorf("edit_file: old_text was not found in %s; it must match the file exactly, whitespace included (read_file shows the current text)", in.Path)
	case n > 1 && !in.ReplaceAll:
		return "", fmt.Errorf("edit_file: old_text occurs %d times in %s; add surrounding lines to make it unique, or set replace_all to replace all %d", n, in.Path, n)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	updated := strings.ReplaceAll(text, oldText, newText)
	if err := t.ws.writeAtomic(name, []byte(updated)); err != nil {
		return "", fileError(in.Path, err)
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return fmt.Sprintf("edited %s: replaced %d occurrence%s (%d bytes, was %d)", name, n, plural, len(updated), len(data)), nil
}
