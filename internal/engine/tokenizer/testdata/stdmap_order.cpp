// Prints the iteration order of a libstdc++ std::unordered_map<std::string, int>
// filled with the keys read from stdin (u32 little-endian length, bytes; in
// order), as the indexes of the keys, one per line. Used by hashorder_test.go.
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>

int main() {
    std::unordered_map<std::string, int> m;
    int index = 0;
    for (;;) {
        uint32_t n;
        if (fread(&n, 4, 1, stdin) != 1) break;
        std::string key(n, '\0');
        if (n > 0 && fread(&key[0], 1, n, stdin) != n) return 1;
        m[key] = index++;
    }
    for (const auto & kv : m) printf("%d\n", kv.second);
    return 0;
}
