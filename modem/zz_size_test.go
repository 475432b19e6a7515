package modem

import (
	"fmt"
	"reflect"
	"testing"
)

func TestZZSize(t *testing.T) {
	for _, v := range []any{Modem{}, state{}, port{}, session{}, writer{}, pdpContexts{}} {
		ty := reflect.TypeOf(v)
		fmt.Println(ty, ty.Size())
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			fmt.Printf("   %-12s %4d %4d %s\n", f.Name, f.Offset, f.Type.Size(), f.Type)
		}
	}
}

func TestZZKey(t *testing.T) {
	for _, s := range []string{"9999999999999999999", "8901234567890123456", "0000000000000000000", "12", "89012345678901234567"} {
		k, ok := iccidKey(s)
		fmt.Println(s, k, ok)
	}
}
