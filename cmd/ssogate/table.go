package main

import (
	"io"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// writeTable writes rows as left-aligned columns two spaces apart, padded
// by display width: text/tabwriter counts a rune as one column, so a
// Japanese name (two columns a character in a terminal) pushes the rest
// of its row out of line.
func writeTable(w io.Writer, rows [][]string) error {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			cell = printable(cell)
			row[i] = cell
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth is how many terminal columns s takes: East Asian Wide and
// Fullwidth characters take two, combining marks and other zero-width
// characters none, the rest one. (Ambiguous-width characters count one,
// as in most terminals outside a CJK locale.)
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || r == '\u200b':
		default:
			switch width.LookupRune(r).Kind() {
			case width.EastAsianWide, width.EastAsianFullwidth:
				n += 2
			default:
				n++
			}
		}
	}
	return n
}

// printable replaces control characters, which would break the row or,
// as escape sequences, drive the administrator's terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}
