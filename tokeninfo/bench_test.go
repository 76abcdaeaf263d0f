package tokeninfo

import "testing"

// BenchmarkResponseMarshal measures encoding a typical active response, as an
// authorization server does for every introspection answer.
func BenchmarkResponseMarshal(b *testing.B) {
	var r Response
	if err := r.UnmarshalJSON([]byte(`{"active":true,"scope":"orders:read orders:write","client_id":"tgc_u4I34vTT28r4o3D3eOIHlA","token_type":"Bearer","exp":1795694803,"iat":1795691203,"sub":"tgc_u4I34vTT28r4o3D3eOIHlA","aud":"https://api.example.com","iss":"https://as.example.com","jti":"1N47B_u4f_L1CJ2O72_H6A","tenant":"acme"}`)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
