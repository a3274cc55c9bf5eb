package bench

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// ratioLabel is the name of a ratio row.
const ratioLabel = "tether ÷ llama.cpp"

// table lays the results out as rows of cells, shared by the text and
// markdown forms: one row per engine and file, and the ratios under each
// file that both engines measured.
func (r *Report) table() (header []string, rows [][]string) {
	ttft := "ttft"
	if r.TTFT > 0 {
		ttft = fmt.Sprintf("ttft%d", r.TTFT)
	}
	header = []string{"model", "weights", "tg bound", "engine", fmt.Sprintf("pp%d tok/s", r.PP), fmt.Sprintf("tg%d tok/s", r.TG),
		"tg % of bound", ttft, "peak RSS", "RSS − weights − KV"}
	for _, f := range r.Files {
		bound := r.Bound(f)
		first := []string{f.Shape + " " + f.Type, formatBytes(f.TensorBytes), speed(bound) + " tok/s"}
		blank := []string{"", "", ""}
		engines := []struct {
			name string
			e    *Engine
		}{{"tether", f.Tether}, {"llama.cpp", f.LlamaCpp}}
		for i, en := range engines {
			if en.e == nil {
				continue
			}
			lead := blank
			if i == 0 || f.Tether == nil {
				lead = first
			}
			rows = append(rows, append(clone(lead), en.name, "", "", "", "", "", ""))
			row := rows[len(rows)-1]
			e := en.e
			if e.Error != "" {
				row[4] = "failed: " + truncate(firstLine(e.Error), 80)
				continue
			}
			row[4], row[5] = speed(e.PPTokS), speed(e.TGTokS)
			if bound > 0 && e.TGTokS > 0 {
				row[6] = fmt.Sprintf("%.0f%%", e.TGTokS/bound*100)
			}
			if e.TTFTms > 0 {
				row[7] = duration(e.TTFTms)
			}
			if e.MaxRSSBytes > 0 {
				row[8] = formatBytes(e.MaxRSSBytes)
				row[9] = formatSignedBytes(int64(e.MaxRSSBytes) - int64(f.TensorBytes) - int64(f.KVBytes))
			}
		}
		if pp, tg := f.Ratios(); pp > 0 || tg > 0 {
			ttftRatio := ""
			if f.Tether.TTFTms > 0 && f.LlamaCpp.TTFTms > 0 {
				ttftRatio = fmt.Sprintf("%.2f×", f.LlamaCpp.TTFTms/f.Tether.TTFTms)
			}
			rows = append(rows, append(clone(blank), ratioLabel, ratio(pp), ratio(tg), "", ttftRatio, "", ""))
		}
	}
	return header, rows
}

// formatSignedBytes is formatBytes with a sign for negative sizes.
func formatSignedBytes(n int64) string {
	if n < 0 {
		return "−" + formatBytes(uint64(-n))
	}
	return formatBytes(uint64(n))
}

func clone(s []string) []string { return append([]string(nil), s...) }

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func speed(v float64) string {
	if v <= 0 {
		return ""
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// duration formats milliseconds.
func duration(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.2f s", ms/1000)
}

func ratio(v float64) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", v)
}

// summary is the run's settings and machine in one line each.
func (r *Report) summary() [][2]string {
	e := r.Env
	cpu := e.CPU
	if cpu == "" {
		cpu = "unknown"
	}
	cpu = fmt.Sprintf("%s, %d CPUs", cpu, e.CPUs)
	if len(e.CPUFlags) > 0 {
		cpu += "; flags " + strings.Join(e.CPUFlags, " ")
	}
	llama := e.LlamaCpp + " (CPU)"
	if r.LlamaCppSkipped != "" {
		llama = "skipped: " + r.LlamaCppSkipped
	}
	runs := fmt.Sprintf("pp%d and tg%d, median of %d", r.PP, r.TG, r.Repeat)
	if r.TTFT > 0 {
		runs += fmt.Sprintf("; time to first token of a %d-token prompt", r.TTFT)
	}
	runs += fmt.Sprintf("; context %d", r.Context)
	commit := e.Commit
	if commit == "" {
		commit = "unknown"
	}
	return [][2]string{
		{"commit", commit},
		{"CPU", cpu},
		{"kernels", e.Kernels},
		{"Go", e.GoVersion},
		{"threads", fmt.Sprint(e.Threads)},
		{"llama.cpp", llama},
		{"memory read", fmt.Sprintf("%.1f GB/s on 1 thread, %.1f GB/s on %d", r.Bandwidth.OneThread, r.Bandwidth.AllThreads, r.Bandwidth.Threads)},
		{"runs", runs},
		{"date", fmt.Sprintf("%s, load average %.1f at the start", e.Date, e.Load)},
	}
}

// notes explain the columns.
const notes = `tg bound: the decode speed memory bandwidth allows (all-threads bandwidth ÷ the file's tensor bytes, about the bytes one token reads). ` +
	`Ratios are tether ÷ llama.cpp speeds (above 1: tether is faster); the ttft ratio is llama.cpp's time ÷ tether's. ` +
	`Peak RSS is each engine's own process's peak resident memory, mapped weights included; the column after it subtracts the weights and the KV cache of the run's context, leaving what the engine needs besides.`

// WriteTable writes the report as an aligned text table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range r.summary() {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	header, rows := r.table()
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.LlamaCppSkipped != "" {
		_, err := fmt.Fprintf(w, "\nllama.cpp comparison skipped: %s\n", r.LlamaCppSkipped)
		return err
	}
	return nil
}

// WriteMarkdown writes the report as markdown: the machine and build,
// then the table.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("## tether bench\n\n| | |\n|---|---|\n")
	for _, kv := range r.summary() {
		v := mdEscape(kv[1])
		if kv[0] == "commit" {
			v = "`" + kv[1] + "`"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], v)
	}
	header, rows := r.table()
	b.WriteString("\n| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = mdEscape(c)
			if row[3] == ratioLabel && c != "" {
				cells[i] = "**" + cells[i] + "**"
			}
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n" + notes + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// HasRatios reports whether any file has both engines' speeds, which is
// what the chart draws.
func (r *Report) HasRatios() bool {
	for _, f := range r.Files {
		if pp, tg := f.Ratios(); pp > 0 || tg > 0 {
			return true
		}
	}
	return false
}

// WriteChart draws the ratios (tether ÷ llama.cpp, pp and tg for each
// file) as a PNG bar chart, with a line at parity.
func (r *Report) WriteChart(w io.Writer) error {
	if !r.HasRatios() {
		return fmt.Errorf("no file has both engines' results to compare")
	}
	p := plot.New()
	p.Title.Text = "tether ÷ llama.cpp speed (above 1: tether faster)"
	if r.Env.CPU != "" {
		p.Title.Text += "\n" + fmt.Sprintf("%s, %d threads, %s kernels", r.Env.CPU, r.Env.Threads, r.Env.Kernels)
	}
	p.Y.Label.Text = "speed ratio"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())

	var names []string
	var pp, tg plotter.Values
	for _, f := range r.Files {
		names = append(names, f.Shape+"\n"+f.Type)
		a, b := f.Ratios()
		pp, tg = append(pp, a), append(tg, b)
	}
	width := vg.Points(14)
	series := []struct {
		name   string
		vals   plotter.Values
		color  color.RGBA
		offset vg.Length
	}{
		{fmt.Sprintf("pp%d", r.PP), pp, color.RGBA{R: 0x3b, G: 0x75, B: 0xaf, A: 0xff}, -width / 2},
		{fmt.Sprintf("tg%d", r.TG), tg, color.RGBA{R: 0xef, G: 0x8a, B: 0x17, A: 0xff}, width / 2},
	}
	top := 1.0
	for _, s := range series {
		bars, err := plotter.NewBarChart(s.vals, width)
		if err != nil {
			return err
		}
		bars.Color, bars.Offset = s.color, s.offset
		bars.LineStyle.Width = 0
		p.Add(bars)
		p.Legend.Add(s.name, bars)

		var xys plotter.XYs
		var labels []string
		for i, v := range s.vals {
			top = max(top, v)
			if v > 0 {
				xys = append(xys, plotter.XY{X: float64(i), Y: v})
				labels = append(labels, fmt.Sprintf("%.2f", v))
			}
		}
		if len(xys) > 0 {
			l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
			if err != nil {
				return err
			}
			for i := range l.TextStyle {
				l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = text.XCenter, text.YBottom
				l.TextStyle[i].Font.Size = vg.Points(7)
			}
			l.Offset = vg.Point{X: s.offset, Y: vg.Points(2)}
			p.Add(l)
		}
	}
	parity, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 1}, {X: float64(len(names)) - 0.5, Y: 1}})
	if err != nil {
		return err
	}
	parity.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	parity.LineStyle.Color = color.Gray{Y: 0x60}
	p.Add(parity)
	p.Y.Max = top * 1.15
	p.NominalX(names...)
	p.Legend.Top = true
	p.Legend.Left = true

	wd := max(6*vg.Inch, vg.Length(len(names))*vg.Inch)
	wt, err := p.WriterTo(wd, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
