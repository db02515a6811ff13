// Command goexpvar is the Go 1.19 peer of tests/integration/test_vars_schema.sh.
//
//	goexpvar doc            prints Go's own /debug/vars document (expvar.Handler)
//	goexpvar compare FILE   checks cdebug's /debug/vars document in FILE against
//	                        Go's: document shape, sorted keys, cmdline an array of
//	                        strings, memstats with runtime.MemStats' keys in Go's
//	                        order and Go's JSON types
//	goexpvar floats N       prints N+ test doubles, one per line:
//	                        "<hex bits> <FormatFloat 'g' -1> <json.Marshal>"
//
// Standard library only, no network: the handler runs on an httptest recorder.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"expvar"
	"fmt"
	"math"
	"math/rand"
	"net/http/httptest"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

func goDoc() []byte {
	rec := httptest.NewRecorder()
	expvar.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/vars", nil))
	return rec.Body.Bytes()
}

var failures int

func fail(format string, args ...interface{}) {
	failures++
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
}

// topKeys returns the top-level keys of doc in document order.
func topKeys(doc []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("not an object: %v %v", t, err)
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("value of %q: %v", k, err)
		}
		keys = append(keys, k)
		vals[k] = raw
	}
	return keys, vals, nil
}

// objKeys returns the keys of a JSON object in document order.
func objKeys(raw []byte) ([]string, map[string]json.RawMessage, error) { return topKeys(raw) }

// kindOf names the JSON type of a raw value; integers are told apart
// from other numbers by their spelling, as a Go client decoding into a
// uint64 would.
func kindOf(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "true" || s == "false":
		return "bool"
	case s == "null":
		return "null"
	case strings.HasPrefix(s, "\""):
		return "string"
	case strings.HasPrefix(s, "["):
		return "array"
	case strings.HasPrefix(s, "{"):
		return "object"
	case strings.ContainsAny(s, ".eE"):
		return "number"
	default:
		return "integer"
	}
}

// want is the JSON type a Go field of kind k encodes to.
func want(k reflect.Kind) string {
	switch k {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Bool:
		return "bool"
	case reflect.Array, reflect.Slice:
		return "array"
	case reflect.Struct:
		return "object"
	}
	return "?"
}

// compatible: a float field may print as an integer ("0") in both encoders.
func compatible(got, w string) bool {
	return got == w || (w == "number" && got == "integer")
}

// checkStruct checks raw (a JSON object) against the Go struct type t:
// same keys in field order, each value of the field's JSON type,
// recursing into arrays (same length) and structs.
func checkStruct(where string, raw json.RawMessage, t reflect.Type) {
	keys, vals, err := objKeys(raw)
	if err != nil {
		fail("%s: %v", where, err)
		return
	}
	var fields []string
	for i := 0; i < t.NumField(); i++ {
		fields = append(fields, t.Field(i).Name)
	}
	if strings.Join(keys, ",") != strings.Join(fields, ",") {
		fail("%s: keys\n  got  %v\n  want %v (Go's field order)", where, keys, fields)
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		checkValue(where+"."+f.Name, vals[f.Name], f.Type)
	}
}

func checkValue(where string, raw json.RawMessage, t reflect.Type) {
	got, w := kindOf(raw), want(t.Kind())
	if !compatible(got, w) {
		fail("%s: JSON type %s, Go encodes %s (%s)", where, got, w, t)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		checkStruct(where, raw, t)
	case reflect.Array:
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			fail("%s: %v", where, err)
			return
		}
		if len(elems) != t.Len() {
			fail("%s: %d elements, Go has %d", where, len(elems), t.Len())
			return
		}
		for i, e := range elems {
			checkValue(fmt.Sprintf("%s[%d]", where, i), e, t.Elem())
		}
	}
}

// checkShape checks the expvarHandler layout byte by byte: "{\n", then
// entries `"key": value` joined by ",\n", then "\n}\n"; keys sorted.
func checkShape(who string, doc []byte, keys []string) {
	if !sort.StringsAreSorted(keys) {
		fail("%s: top-level keys not sorted: %v", who, keys)
	}
	if !bytes.HasPrefix(doc, []byte("{\n")) {
		fail("%s: document does not start with \"{\\n\"", who)
		return
	}
	pos := 2
	for i := range keys {
		// The key: one JSON string, then ": ".
		dec := json.NewDecoder(bytes.NewReader(doc[pos:]))
		var k string
		if err := dec.Decode(&k); err != nil || k != keys[i] || doc[pos] != '"' {
			fail("%s: entry %d does not start with the quoted key %q at a line start", who, i, keys[i])
			return
		}
		pos += int(dec.InputOffset())
		if !bytes.HasPrefix(doc[pos:], []byte(": ")) {
			fail("%s: key %q not followed by \": \"", who, k)
			return
		}
		pos += 2
		dec = json.NewDecoder(bytes.NewReader(doc[pos:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			fail("%s: value of %q: %v", who, k, err)
			return
		}
		pos += int(dec.InputOffset())
		sep := ",\n"
		if i == len(keys)-1 {
			sep = "\n}\n"
		}
		if !bytes.HasPrefix(doc[pos:], []byte(sep)) {
			fail("%s: value of %q not followed by %q", who, k, sep)
			return
		}
		pos += len(sep)
	}
	if pos != len(doc) {
		fail("%s: %d bytes after the closing brace", who, len(doc)-pos)
	}
}

func compare(path string) {
	cdoc, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
		return
	}
	gdoc := goDoc()
	gkeys, gvals, err := topKeys(gdoc)
	if err != nil {
		fail("Go document: %v", err)
		return
	}
	ckeys, cvals, err := topKeys(cdoc)
	if err != nil {
		fail("cdebug document is not JSON: %v", err)
		return
	}
	if !json.Valid(cdoc) {
		fail("cdebug document is not valid JSON")
	}
	checkShape("go", gdoc, gkeys)
	checkShape("cdebug", cdoc, ckeys)

	// Every var Go publishes by default is there, with the same type.
	for _, k := range gkeys {
		if _, ok := cvals[k]; !ok {
			fail("cdebug lacks %q", k)
		}
	}
	for _, k := range []string{"cmdline"} {
		var gs, cs []string
		if err := json.Unmarshal(gvals[k], &gs); err != nil {
			fail("go %s: %v", k, err)
		}
		if err := json.Unmarshal(cvals[k], &cs); err != nil {
			fail("cdebug %s is not an array of strings: %v", k, err)
		} else if len(cs) == 0 {
			fail("cdebug cmdline is empty")
		}
	}

	// memstats: Go's own output and cdebug's against runtime.MemStats,
	// then against each other key by key.
	mt := reflect.TypeOf(runtime.MemStats{})
	checkStruct("go memstats", gvals["memstats"], mt)
	checkStruct("cdebug memstats", cvals["memstats"], mt)
	gk, gv, _ := objKeys(gvals["memstats"])
	ck, cv, _ := objKeys(cvals["memstats"])
	if strings.Join(gk, ",") != strings.Join(ck, ",") {
		fail("memstats key order differs:\n  go     %v\n  cdebug %v", gk, ck)
	}
	for _, k := range gk {
		g, c := kindOf(gv[k]), kindOf(cv[k])
		if g != c && !(compatible(g, "number") && compatible(c, "number")) {
			fail("memstats.%s: go %s, cdebug %s", k, g, c)
		}
	}
	// The struct decodes into Go's own type without loss (what expvar
	// clients such as expvarmon do).
	var ms runtime.MemStats
	dec := json.NewDecoder(bytes.NewReader(cvals["memstats"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ms); err != nil {
		fail("cdebug memstats does not decode into runtime.MemStats: %v", err)
	}
	fmt.Printf("go keys: %v\ncdebug keys: %v\nmemstats: %d keys compared\n", gkeys, ckeys, len(gk))
}

func floats(n int) {
	var vals []float64
	add := func(f float64) {
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			vals = append(vals, f)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 0.1, 0.2, 0.3, 1e21, 1e20, 1e-7, 1e-6, 9.999999e-7,
		123456789.0, 1, -1, 100000, 999999, 1e6, 0.0001, 0.00001, 1.5e-7, 123456.7, 1234567.8,
		5e-324, math.SmallestNonzeroFloat64 * 3, 2.2250738585072014e-308, 2.225073858507201e-308,
		math.MaxFloat64, 2.0 / 3, 1e100, 12345678901234567890.0, 3.14159, -2.5e-5, 1e15, 1e16, 1e17,
		1 << 53, 1<<53 + 2, 4.35e-5, 0.000123, 5e-7, 0.1 + 0.2} {
		add(f)
	}
	for e := -1074; e <= 1023; e++ { // every power of two
		add(math.Ldexp(1, e))
	}
	for i := 0; i < 2000; i++ { // decimals people write
		add(float64(i) / 1000)
		add(float64(i) * 1e-9)
		add(float64(i) * 1.1e15)
	}
	r := rand.New(rand.NewSource(1))
	for len(vals) < n { // random bit patterns: every exponent
		add(math.Float64frombits(r.Uint64()))
		add(r.Float64())
		add(r.NormFloat64() * 1e6)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, f := range vals {
		j, _ := json.Marshal(f)
		fmt.Fprintf(w, "%016x %s %s\n", math.Float64bits(f), strconv.FormatFloat(f, 'g', -1, 64), j)
	}
	w.Flush()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goexpvar doc | compare FILE | floats N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "doc":
		os.Stdout.Write(goDoc())
	case "compare":
		compare(os.Args[2])
	case "floats":
		n, _ := strconv.Atoi(os.Args[2])
		floats(n)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
	if failures > 0 {
		os.Exit(1)
	}
}
