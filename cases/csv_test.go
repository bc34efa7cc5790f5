package cases_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/cases"
)

// Free text a spreadsheet would run as a formula is defused; everything
// else, line breaks and quotes included, comes back as written.
func TestWriteCSV(t *testing.T) {
	opened := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	cs := []cases.Case{
		{Number: "K-20261202-0001", Kind: cases.KindComplaint, Status: cases.StatusForwarded, OpenedAt: opened,
			ForwardedAt: opened.Add(time.Second), CallID: "c1", Agent: "a1", CitizenNumber: "+77011234567",
			Organisation: "=HYPERLINK(\"http://evil\",\"click\")", Category: "other",
			Text: "line one\nline \"two\", with comma", Attempts: 2, LastError: "-1 reasons"},
		{Number: "K-20261202-0002", Kind: cases.KindHomeVisit, Status: cases.StatusRegistered, OpenedAt: opened,
			Agent: "a2", Address: "@SUM(A1:A9)", Symptoms: "\tcmd|' /C calc'!A0", PreferredTime: "\rx"},
	}
	var buf bytes.Buffer
	if err := cases.WriteCSV(&buf, cs, almaty); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], cases.CSVHeader) {
		t.Fatalf("rows %q", rows)
	}
	col := func(row int, name string) string { return rows[row][slices.Index(cases.CSVHeader, name)] }
	for _, tc := range []struct {
		row        int
		name, want string
	}{
		{1, "number", "K-20261202-0001"},
		{1, "opened_at", "2026-12-02T10:00:00+05:00"},
		{1, "forwarded_at", "2026-12-02T10:00:01+05:00"},
		{1, "closed_at", ""},
		{1, "citizen_number", "'+77011234567"},
		{1, "organisation", "'=HYPERLINK(\"http://evil\",\"click\")"},
		{1, "text", "line one\nline \"two\", with comma"},
		{1, "attempts", "2"},
		{1, "last_error", "'-1 reasons"},
		{2, "address", "'@SUM(A1:A9)"},
		{2, "symptoms", "'\tcmd|' /C calc'!A0"},
		{2, "preferred_time", "'\rx"},
		{2, "kind", "home_visit"},
	} {
		if got := col(tc.row, tc.name); got != tc.want {
			t.Errorf("row %d %s = %q, want %q", tc.row, tc.name, got, tc.want)
		}
	}
	// The column order is part of the contract.
	if cases.CSVHeader[0] != "number" || len(cases.CSVHeader) != 22 {
		t.Fatalf("header %v", cases.CSVHeader)
	}
}

func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		c    cases.Case
		want string
	}{
		{cases.Case{Kind: cases.KindComplaint, Organisation: "Polyclinic 5", Category: "rudeness", Text: "long story"}, "Polyclinic 5 · rudeness"},
		{cases.Case{Kind: cases.KindHomeVisit, Address: "Abay 10,\nflat 5", Symptoms: "fever"}, "Abay 10, flat 5"},
		{cases.Case{Kind: cases.KindHomeVisit, Address: repeat("д", 100)}, repeat("д", 79) + "…"},
	} {
		if got := tc.c.Summary(); got != tc.want {
			t.Errorf("Summary = %q, want %q", got, tc.want)
		}
	}
}
