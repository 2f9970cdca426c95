# A file whose name needs the 4-byte str kind (the snake) and functions whose
# qualnames need the 1-byte Latin-1 kind (Café.naïve) and the 2-byte kind
# (名前).


class Café:
    def naïve(self):
        x = 0
        while True: x = x + 1  # @uni_leaf


def 名前():
    Café().naïve()  # @uni_call


print("ready", flush=True)
名前()  # @uni_main
