package oidc

import (
	"slices"
	"testing"
)

func TestFlatten(t *testing.T) {
	claims, err := decodeClaims([]byte(`{"s":"x","n":1735689600,"f":1.5,"b":true,"null":null,
		"list":["a",2,false,null,{"k":"v"}],"obj":{"a":[1,2]}}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string][]string{
		"s": {"x"}, "n": {"1735689600"}, "f": {"1.5"}, "b": {"true"}, "null": nil,
		"list": {"a", "2", "false", `{"k":"v"}`}, "obj": {`{"a":[1,2]}`},
	} {
		if got := flatten(claims[k]); !slices.Equal(got, want) {
			t.Errorf("flatten(%s) = %q; want %q", k, got, want)
		}
	}
}

func TestIsTrue(t *testing.T) {
	claims, err := decodeClaims([]byte(`{"a":true,"b":"true","c":"TRUE","d":"1","e":1,
		"f":false,"g":"false","h":"yes","i":0,"j":null,"k":["true"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true,
		"f": false, "g": false, "h": false, "i": false, "j": false, "k": false, "missing": false} {
		if got := isTrue(claims[k]); got != want {
			t.Errorf("isTrue(%s) = %v; want %v", k, got, want)
		}
	}
}
