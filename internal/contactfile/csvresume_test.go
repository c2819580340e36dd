package contactfile

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// resumeInputs cover what can move offsets and line numbers: a BOM, an
// Excel sep line, CRLF, old Mac CR line ends, multi-line quoted fields,
// blank and empty records, a broken record, and no final newline.
var resumeInputs = map[string]string{
	"plain":               "First Name,Email\nA1,a1@x.example\nA2,a2@x.example\nA3,a3@x.example\nA4,a4@x.example\nA5,a5@x.example\nA6,a6@x.example\n",
	"bom crlf multi-line": "\xEF\xBB\xBFFirst Name,Notes\r\nA1,\"one\r\ntwo\"\r\nA2,x\r\n\r\n,\r\nA3,\"x\"\"y\nz\"\r\nA4,\"\"\r\nA5,\"last\nrow\"\r\n",
	"sep line semicolon":  "sep=;\r\nFirst Name;Notes\r\nA1;x\r\nA2;\"a;b\"\r\nA3;y\r\nA4;z",
	"old mac":             "First Name,Notes\rA1,\"x\ry\"\rA2,z\r\rA3,w\rA4,v\r",
	"broken record":       "First Name,Notes\nA1,x\nA2,5\" screen\nA3,y\nA4,\"p\"q\nA5,z\n",
	"persian":             "\xEF\xBB\xBFنام,نام خانوادگی,موبایل\r\nعلی,رضایی,۰۹۱۲ ۳۴۵ ۶۷۸۹\r\nزهرا,\"احمدی\r\nزاده\",۰۹۳۵۱۱۱۲۲۳۳\r\nسارا,کریمی,\r\n",
}

func TestCSVResumeAfterThreeRows(t *testing.T) {
	in := resumeInputs["bom crlf multi-line"]
	opts := CSVOptions{DefaultRegion: "IR"}
	_, rows := readString(t, in, opts)
	if len(rows) != 5 {
		t.Fatalf("%d rows", len(rows))
	}

	r, err := NewCSVReaderAt(strings.NewReader(in), Checkpoint{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var first []Row
	for i := 0; i < 3; i++ {
		row, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, row)
	}
	cp := r.Checkpoint()
	if cp.Rows != 3 || cp.Line != 9 {
		t.Errorf("checkpoint after 3 rows = %+v, want line 9", cp)
	}
	saved, _ := json.Marshal(cp)
	var restored Checkpoint
	if err := json.Unmarshal(saved, &restored); err != nil {
		t.Fatal(err)
	}

	m := r.Mapping()
	opts.Mapping = &m
	r2, err := NewCSVReaderAt(strings.NewReader(in), restored, opts)
	if err != nil {
		t.Fatal(err)
	}
	rest := readAll(t, r2)
	sameRows(t, append(first, rest...), rows)
	if got := r2.Checkpoint(); got.Rows != 5 || got.Offset != int64(len(in)) {
		t.Errorf("final checkpoint %+v", got)
	}
}

// TestCSVResumeEverywhere resumes at every checkpoint of every input and
// checks that exactly the remaining rows come back, with the same line
// numbers and the same checkpoints.
func TestCSVResumeEverywhere(t *testing.T) {
	for name, in := range resumeInputs {
		t.Run(name, func(t *testing.T) {
			opts := CSVOptions{DefaultRegion: "IR"}
			r, err := NewCSVReader(strings.NewReader(in), opts)
			if err != nil {
				t.Fatal(err)
			}
			m := r.Mapping()
			opts.Mapping = &m
			var rows []Row
			cps := []Checkpoint{r.Checkpoint()}
			for {
				row, err := r.Next()
				if err != nil {
					break
				}
				rows = append(rows, row)
				cps = append(cps, r.Checkpoint())
			}
			for k, cp := range cps {
				r2, err := NewCSVReaderAt(strings.NewReader(in), cp, opts)
				if err != nil {
					t.Fatalf("resume at %+v: %v", cp, err)
				}
				var got []Row
				var gotCps []Checkpoint
				for {
					row, err := r2.Next()
					if err != nil {
						break
					}
					got = append(got, row)
					gotCps = append(gotCps, r2.Checkpoint())
				}
				if !reflect.DeepEqual(got, rows[k:]) && !(len(got) == 0 && len(rows[k:]) == 0) {
					t.Errorf("resume after %d rows at %+v:\n got %s\nwant %s", k, cp, jsonString(got), jsonString(rows[k:]))
				}
				if len(gotCps) > 0 && !reflect.DeepEqual(gotCps, cps[k+1:]) {
					t.Errorf("resume after %d rows: checkpoints %+v, want %+v", k, gotCps, cps[k+1:])
				}
			}
		})
	}
}

// TestCSVResumeAfterCrash imports in batches, committing rows and the
// checkpoint together, and crashes in the middle of a batch several times:
// every row ends up committed exactly once.
func TestCSVResumeAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	var b strings.Builder
	g := &generatedCSV{n: 500}
	buf := make([]byte, 4096)
	for {
		n, err := g.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := CSVOptions{DefaultRegion: "IR"}
	_, want := readString(t, b.String(), opts)

	// "Database": committed rows and the checkpoint saved with them, both
	// as JSON as an importer would store them.
	var committed []Row
	savedCp, _ := json.Marshal(Checkpoint{})
	savedOpts, _ := json.Marshal(opts)
	crashAfter := []int{0, 7, 123, 124, 301, 499}
	const batch = 25
	for attempt := 0; ; attempt++ {
		var cp Checkpoint
		var o CSVOptions
		if err := json.Unmarshal(savedCp, &cp); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(savedOpts, &o); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewCSVReaderAt(f, cp, o)
		if err != nil {
			t.Fatal(err)
		}
		if o.Mapping == nil { // first run: fix the mapping for the resumes
			m := r.Mapping()
			o.Mapping = &m
			savedOpts, _ = json.Marshal(o)
		}
		var pending []Row
		crashed, done := false, false
		for !crashed && !done {
			row, err := r.Next()
			if err != nil {
				done = true
			} else {
				pending = append(pending, row)
			}
			if attempt < len(crashAfter) && len(committed)+len(pending) > crashAfter[attempt] {
				crashed = true // kill -9: the open batch is lost
				break
			}
			if len(pending) == batch || (done && len(pending) > 0) {
				committed = append(committed, pending...)
				pending = nil
				savedCp, _ = json.Marshal(r.Checkpoint())
			}
		}
		f.Close()
		if done {
			break
		}
	}
	if len(committed) != len(want) {
		t.Fatalf("committed %d rows, want %d", len(committed), len(want))
	}
	if !reflect.DeepEqual(committed, want) {
		for i := range want {
			if !reflect.DeepEqual(committed[i], want[i]) {
				t.Fatalf("row %d differs:\n got %s\nwant %s", i, jsonString(committed[i]), jsonString(want[i]))
			}
		}
	}
}

func TestCSVResumeRefusals(t *testing.T) {
	in := resumeInputs["plain"]
	r, err := NewCSVReader(strings.NewReader(in), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Mapping()
	opts := CSVOptions{Mapping: &m}
	r.Next()
	cp := r.Checkpoint()

	tests := []struct {
		name  string
		input string
		cp    Checkpoint
		opts  CSVOptions
		want  string
	}{
		{"inside the header", in, Checkpoint{Offset: 5, Line: 1}, opts, "before the first record"},
		{"past the end", in, Checkpoint{Offset: int64(len(in)) + 10, Line: 9}, opts, "past the end"},
		{"another file", "Vorname,E-Mail\nA1,a1@x.example\nA2,a2@x.example\n", cp, opts, "in the file but"},
		{"without the mapping", in, cp, CSVOptions{}, "needs the mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCSVReaderAt(strings.NewReader(tt.input), tt.cp, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCSVNextBatch checks that batches converted on several goroutines
// give the rows Next gives, and that the checkpoint after each batch
// resumes after its last row.
func TestCSVNextBatch(t *testing.T) {
	data, err := io.ReadAll(&generatedCSV{n: 2000})
	if err != nil {
		t.Fatal(err)
	}
	in := string(data) + "broken,\"x\"y\n" + "\n,,,\nlast,row\n"
	opts := CSVOptions{DefaultRegion: "IR"}
	_, want := readString(t, in, opts)

	r, err := NewCSVReader(strings.NewReader(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	m := r.Mapping()
	opts.Mapping = &m
	var got []Row
	for {
		batch, err := r.NextBatch(300, 4)
		if err == io.EOF {
			break
		}
		if err != nil || len(batch) == 0 {
			t.Fatalf("NextBatch: %d rows, %v", len(batch), err)
		}
		got = append(got, batch...)
		cp := r.Checkpoint()
		if cp.Rows != len(got) {
			t.Fatalf("checkpoint rows %d after %d rows", cp.Rows, len(got))
		}
		r2, err := NewCSVReaderAt(strings.NewReader(in), cp, opts)
		if err != nil {
			t.Fatal(err)
		}
		if rest := readAll(t, r2); len(got)+len(rest) != len(want) || (len(rest) > 0 && !reflect.DeepEqual(rest[0], want[len(got)])) {
			t.Fatalf("resume after %d rows: %d more rows", len(got), len(rest))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d:\n got %s\nwant %s", i, jsonString(got[i]), jsonString(want[i]))
		}
	}
}
