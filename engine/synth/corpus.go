package synth

// corpus is the text the vocabulary's merges are learnt from: English
// prose, chat phrases, and code in a few languages, all ASCII, so that the
// merges (and the printable output) stay within ASCII. Changing it changes
// every generated vocabulary.
const corpus = `The quick brown fox jumps over the lazy dog. The weather in Paris is
mild today, with a light wind from the west and a chance of rain in the
evening. What is the weather like in London? It is cold and cloudy, and the
temperature is expected to fall below freezing tonight.

You are a helpful assistant. Answer the question as well as you can, and say
so when you do not know the answer. The user asked about the weather, so call
the weather function with the name of the city. When the function returns,
read the result and write a short answer for the user.

Hello! How are you today? I am fine, thank you. Can you help me with my code?
Of course. Please show me the error message and the function that fails.
The test failed because the file was not found. Check the path and try again.
I have read the documentation, but I still do not understand how the server
starts. The server listens on a local port, waits until it is ready, and then
answers requests over HTTP. When the program exits, the server is stopped so
that no process is left running in the background.

A model is a file of weights. The engine loads the model, reads the tokens of
the prompt, and generates the next token, one at a time, until it reaches the
end of the turn or the maximum number of tokens. Each token is a piece of
text: a word, a part of a word, a space, or a single character.

In the beginning there was nothing but the sea and the sky. Then the land
rose from the water, and the rivers ran down from the mountains to the sea.
People built their houses on the hills and their boats on the shore, and they
learned to read the stars and the seasons. They wrote down what they knew, so
that their children would know it too.

func main() {
	ctx := context.Background()
	model, err := engine.Load("model.gguf", engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	for i := 0; i < len(tokens); i++ {
		fmt.Println(tokens[i])
	}
	return
}

type Server struct {
	Name    string
	Port    int
	Timeout time.Duration
}

func (s *Server) Start(ctx context.Context) error {
	if s.Port == 0 {
		return errors.New("server: no port")
	}
	return nil
}

def get_weather(city: str) -> dict:
    """Return the current weather for a city."""
    if not city:
        raise ValueError("city is required")
    result = {"city": city, "temperature": 21, "unit": "celsius"}
    return result

class Assistant:
    def __init__(self, name, tools=None):
        self.name = name
        self.tools = tools or []

    def call(self, name, arguments):
        for tool in self.tools:
            if tool.name == name:
                return tool.run(**arguments)
        return None

for i in range(10):
    print(i, i * i)

const items = [1, 2, 3, 4, 5];
function sum(values) {
  let total = 0;
  for (const value of values) {
    total += value;
  }
  return total;
}
console.log(sum(items));

{"name": "get_weather", "description": "Get the current weather in a given city",
 "parameters": {"type": "object", "properties": {"city": {"type": "string",
 "description": "The city, for example Paris"}}, "required": ["city"]}}
{"role": "user", "content": "What is the weather in Paris?"}
{"role": "assistant", "content": "The weather in Paris is sunny and 21 degrees."}

SELECT name, count(*) FROM users WHERE active = 1 GROUP BY name ORDER BY name;

# Install the package and run the tests
go test ./...
npm install --save-dev typescript
git commit -m "fix the test"

The numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 3.14 42 and 1e-6 appear in
text as often as words do. Prices are written as $19.99, times as 10:30, and
dates as 2024-07-26. An email looks like name@example.com, and a web address
like https://example.com/path?query=value.

Questions: who, what, where, when, why, and how? Answers: yes, no, maybe.
It's a good day; isn't it? We'll see. They've gone, and I'd rather stay.
This is the end of the text, but not the end of the story.
`
