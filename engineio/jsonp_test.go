package engineio

import (
	"net/url"
	"testing"
)

func TestJSONPHead(t *testing.T) {
	for j, want := range map[string]string{"": "___eio[](", "7": "___eio[7](", "a1b2": "___eio[12](", "<x>": "___eio[]("} {
		if got := string(jsonpHead(j)); got != want {
			t.Errorf("jsonpHead(%q) = %q, want %q", j, got, want)
		}
	}
}

// The response is the payload as JSON.stringify writes it, U+2028 and
// U+2029 escaped.
func TestWrapJSONP(t *testing.T) {
	c := &Conn{jsonp: jsonpHead("3")}
	in := "2:40\"q\\\n\r\t\b\f\x01\x1f\x7f é\u2028\u2029😀"
	want := `___eio[3]("2:40\"q\\\n\r\t\b\f\u0001\u001f` + "\x7f é" + `\u2028\u2029` + "😀\");"
	if got := string(c.wrapJSONP([]byte(in))); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// A POST's d, newlines unescaped as Node unescapes them: `\n` → newline,
// `\\n` → `\n`.
func TestJSONPPayload(t *testing.T) {
	for _, tt := range []struct{ d, want string }{
		{`5:42[1]`, `5:42[1]`},
		{`a\nb`, "a\nb"},
		{`a\\nb`, `a\nb`},
		{`a\\\nb`, `a\\nb`},
		{`\`, `\`},
		{`\\`, `\\`},
		{`x\n`, "x\n"},
	} {
		got, ok := jsonpPayload([]byte(url.Values{"d": {tt.d}}.Encode()))
		if !ok || string(got) != tt.want {
			t.Errorf("d=%q: got %q (%v), want %q", tt.d, got, ok, tt.want)
		}
	}
	for _, body := range []string{"", "x=1", "d=1&d=2"} {
		if _, ok := jsonpPayload([]byte(body)); ok {
			t.Errorf("body %q: a payload, want none", body)
		}
	}
}

func FuzzJSONPPayload(f *testing.F) {
	for _, s := range []string{"d=5%3A42%5B1%5D", `d=a\nb`, `d=a\\\nb`, "d=%zz", "d=1&d=2", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, ok := jsonpPayload(body)
		if !ok {
			return
		}
		form, _ := url.ParseQuery(string(body))
		if len(p) > len(form["d"][0]) {
			t.Fatalf("payload %q longer than d %q", p, form["d"][0])
		}
		_ = (&Conn{jsonp: jsonpHead("1")}).wrapJSONP(p)
	})
}
