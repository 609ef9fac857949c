package session

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The session's data is one JSON object of a few keys (the flow plan, the
// authentication method, ...). Get and Set run on every flow request, so
// they read and replace one member in place instead of decoding the whole
// object into a map and encoding it again: that was 8% of a login's server
// CPU. The result is the bytes json.Marshal of the map would give (keys in
// order, members compact) whenever the stored object is itself such an
// encoding, which is the only kind Set writes.

// member is one member of the data object: its key and the byte ranges of
// the whole member (key to value) and of the value.
type member struct {
	key                  string
	start, end           int // data[start:end] is `"key":value`
	valueStart, valueEnd int
}

// members splits a valid, compact JSON object into its members; ok is false
// when data is not one (not valid JSON, not an object, or not compact, as
// a hand-edited row could be), and the caller falls back to encoding/json.
func members(data []byte) (ms []member, ok bool) {
	if !json.Valid(data) || len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		return nil, false
	}
	i := 1
	if data[i] == '}' {
		return nil, i+1 == len(data)
	}
	for {
		if data[i] != '"' {
			return nil, false // whitespace: not compact
		}
		m := member{start: i}
		keyEnd := skipString(data, i)
		raw := data[i:keyEnd]
		if bytes.IndexByte(raw, '\\') < 0 {
			m.key = string(raw[1 : len(raw)-1])
		} else if json.Unmarshal(raw, &m.key) != nil {
			return nil, false
		}
		if keyEnd >= len(data) || data[keyEnd] != ':' {
			return nil, false
		}
		m.valueStart = keyEnd + 1
		m.valueEnd = skipValue(data, m.valueStart)
		if m.valueEnd < 0 {
			return nil, false
		}
		m.end = m.valueEnd
		ms = append(ms, m)
		switch {
		case m.end < len(data) && data[m.end] == ',':
			i = m.end + 1
		case m.end == len(data)-1:
			return ms, true
		default:
			return nil, false
		}
	}
}

// skipString returns the index after the JSON string starting at data[i]
// (a '"'); data is valid JSON.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// skipValue returns the index after the JSON value starting at data[i], or
// -1 when it has a space outside its strings (not compact); data is valid
// JSON, so brackets balance.
func skipValue(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = skipString(data, i) - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object: a scalar ended
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		case ' ', '\t', '\n', '\r':
			return -1
		}
		if depth == 0 && data[i] != '"' && data[i] != '}' && data[i] != ']' {
			continue // inside a scalar
		}
		if depth == 0 {
			return i + 1 // a string or a container ended
		}
	}
	return -1
}

// lookup returns the raw value of key (the last one, as encoding/json
// decodes a repeated key).
func lookup(data []byte, key string) (json.RawMessage, bool) {
	ms, ok := members(data)
	if !ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			return nil, false
		}
		raw, found := m[key]
		return raw, found
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return data[ms[i].valueStart:ms[i].valueEnd], true
		}
	}
	return nil, false
}

// replace returns data with key set to raw (a compact JSON value), or
// removed when raw is nil.
func replace(data []byte, key string, raw json.RawMessage) ([]byte, error) {
	ms, ok := members(data)
	if !ok || !sorted(ms) {
		return replaceMap(data, key, raw)
	}
	// The members are sorted and unique: key's place is where it is, or
	// before the first greater key.
	at := len(ms)
	for i, m := range ms {
		if m.key >= key {
			at = i
			break
		}
	}
	found := at < len(ms) && ms[at].key == key
	var b bytes.Buffer
	b.Grow(len(data) + len(key) + len(raw) + 4)
	b.WriteByte('{')
	n := 0
	add := func(member []byte) {
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(member)
		n++
	}
	for i, m := range ms {
		if i == at && raw != nil {
			k, err := json.Marshal(key)
			if err != nil {
				return nil, err
			}
			add(append(append(k, ':'), raw...))
		}
		if i == at && found {
			continue
		}
		add(data[m.start:m.end])
	}
	if at == len(ms) && raw != nil {
		k, err := json.Marshal(key)
		if err != nil {
			return nil, err
		}
		add(append(append(k, ':'), raw...))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// sorted tells whether the keys are in increasing order without repeats,
// as json.Marshal writes a map.
func sorted(ms []member) bool {
	for i := 1; i < len(ms); i++ {
		if strings.Compare(ms[i-1].key, ms[i].key) >= 0 {
			return false
		}
	}
	return true
}

// replaceMap is replace through a map, for data Set did not write.
func replaceMap(data []byte, key string, raw json.RawMessage) ([]byte, error) {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(data, &m)
	if m == nil {
		m = map[string]json.RawMessage{} // not an object, or null
	}
	if raw == nil {
		delete(m, key)
	} else {
		m[key] = raw
	}
	return json.Marshal(m)
}
