package grammar

// jsonGBNF is llama.cpp's grammars/json.gbnf in substance: any JSON value
// at the top, with llama.cpp's whitespace limits.
const jsonGBNF = `
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
`

// schemaGBNF is the kind of grammar a JSON Schema compiles to: an object
// with fixed keys in a fixed order.
const schemaGBNF = `
root ::= "{" space name-kv "," space age-kv "," space tags-kv "}" space
name-kv ::= "\"name\"" space ":" space string
age-kv ::= "\"age\"" space ":" space integer
tags-kv ::= "\"tags\"" space ":" space "[" space (string ("," space string)*)? "]" space
string ::= "\"" char* "\"" space
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) space
space ::= | " " | "\n" [ \t]{0,20}
`
