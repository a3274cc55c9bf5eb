package serve

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// tokenize answers POST /tokenize as llama-server does:
// {"content": TEXT, "add_special": false, "parse_special": true,
// "with_pieces": false} gives {"tokens": [ids]}, or with with_pieces
// {"tokens": [{"id": ID, "piece": TEXT}]} (a piece that is not valid
// UTF-8 by itself is given as an array of bytes).
func (s *Server) tokenize(w http.ResponseWriter, r *http.Request, m *loadedModel) *apiError {
	var req struct {
		Content      *string `json:"content"`
		AddSpecial   bool    `json:"add_special"`
		ParseSpecial *bool   `json:"parse_special"`
		WithPieces   bool    `json:"with_pieces"`
	}
	if e := decodeFields(r, s.cfg.MaxBodyBytes, &req, tokenizeFields); e != nil {
		return e
	}
	if req.Content == nil {
		return badRequest("content", "content is required")
	}
	parse := req.ParseSpecial == nil || *req.ParseSpecial
	tok := m.eng.Tokenizer()
	ids := tok.Encode(*req.Content, req.AddSpecial, parse)
	if !req.WithPieces {
		if ids == nil {
			ids = []int32{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": ids})
		return nil
	}
	type piece struct {
		ID    int32 `json:"id"`
		Piece any   `json:"piece"`
	}
	pieces := make([]piece, len(ids))
	for i, id := range ids {
		p := tok.Piece(id, true)
		if utf8.ValidString(p) {
			pieces[i] = piece{id, p}
		} else {
			b := make([]int, len(p))
			for j := range len(p) {
				b[j] = int(p[j])
			}
			pieces[i] = piece{id, b}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": pieces})
	return nil
}

// detokenize answers POST /detokenize: {"tokens": [ids]} gives
// {"content": TEXT}, the pieces joined with special tokens written out,
// as llama-server does. Ids outside the vocabulary are a 400.
func (s *Server) detokenize(w http.ResponseWriter, r *http.Request, m *loadedModel) *apiError {
	var req struct {
		Tokens []int64 `json:"tokens"`
	}
	if e := decodeFields(r, s.cfg.MaxBodyBytes, &req, detokenizeFields); e != nil {
		return e
	}
	tok := m.eng.Tokenizer()
	var b strings.Builder
	for i, id := range req.Tokens {
		if id < 0 || id >= int64(tok.NumTokens()) {
			return badRequest("tokens", "tokens[%d] = %d is not a token id (the vocabulary has %d)", i, id, tok.NumTokens())
		}
		b.WriteString(tok.Piece(int32(id), true))
	}
	writeJSON(w, http.StatusOK, map[string]any{"content": strings.ToValidUTF8(b.String(), "\uFFFD")})
	return nil
}
