package contact

import (
	"encoding/json"
	"fmt"
)

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("contact: marshal %T: %v", v, err)) // plain data only
	}
	return b
}

// toMap renders a value as its JSON object, to compare or merge by field.
func toMap(v any) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(mustJSON(v), &m)
	return m
}
