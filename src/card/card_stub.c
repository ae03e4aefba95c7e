/* card_stub.c: keeps libpostcard-card non-empty while src/card grows; holds no code. */
typedef int pcard_card_stub_unused;
