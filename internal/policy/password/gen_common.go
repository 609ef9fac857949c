//go:build ignore

// gen_common writes common.txt, the small list of common passwords and
// password words that the strength estimator treats as the first guesses,
// most common first (the line number is the rank).
//
// No published password list was downloaded or copied: the list is made here
// from well-known patterns (digit runs, keyboard rows, "password" and
// "welcome" variants), passwords that are notorious from public reporting on
// breaches, and hand-written families of words people build passwords from
// (first names, pets, sports, seasons, months, colours, places). The
// estimator composes these with years, digits, l33t spellings and
// capitals on its own, so the list holds bases rather than their variants.
//
//	go generate ./internal/policy/password
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// notorious: passwords that top every published breach analysis, roughly
// in their usual order.
const notorious = `
123456 password 123456789 12345678 12345 qwerty 1234567 111111 1234567890
123123 abc123 password1 iloveyou 1q2w3e4r 000000 qwerty123 zaq12wsx dragon
sunshine princess letmein 654321 monkey 1qaz2wsx 123321 qwertyuiop superman
asdfghjkl football baseball welcome admin master shadow michael jennifer
hunter trustno1 ashley charlie jordan harley ranger buster thomas tigger
robert soccer batman test pass killer hockey george andrew daniel starwars
computer michelle jessica pepper zxcvbnm freedom whatever ginger summer love
nicole chelsea biteme matthew access yankees dallas austin thunder taylor
matrix mustang 666666 121212 7777777 888888 flower hello cheese secret lovely
passw0rd p@ssw0rd qwe123 aa123456 112233 123qwe 1q2w3e asdf asdfgh zxcvbn
qazwsx login 159753 987654321 11111111 696969 fuckyou fuckoff pussy asshole
blink182 lakers princess1 iloveyou1 monkey1 dragon1 qwerty1 password12
password123 welcome1 welcome123 admin123 admin1 letmein1 abc12345 abcd1234
1234qwer qwer1234 q1w2e3r4 changeme default guest root toor administrator
user demo temp system oracle manager office internet google facebook
`

// families of words, each roughly most common first; the generator
// interleaves them so that no family fills the top ranks alone.
var families = [][]string{
	// Digit runs, counting and keyboard rows.
	fields(`
1234 0000 1111 2222 3333 4444 5555 6666 7777 8888 9999 123456a 1234567a
12341234 11223344 147258369 147258 741852963 789456123 789456 456789 13579
24680 102030 101010 202020 252525 212121 131313 232323 010203 999999 555555
444444 333333 222222 11111 00000 55555 99999 77777 987654 87654321 0987654321
4321 54321 7654321 0123456789 012345 01234567 qwert qwertz qwertzu azerty
azertyuiop asdfg zxcv zxcvb 1qaz zaq1 zaq1zaq1 !qaz2wsx 1qazxsw2 qazxsw
qweasd qweasdzxc qweqwe asdasd zxczxc 1q2w3e4r5t 1q2w3e4r5t6y q2w3e4r5
qwertyu asdfghjk zxcvbnm1 poiuytrewq lkjhgfdsa mnbvcxz aaaaaa aaaaaaaa
abcdef abcdefg abcdefgh abcabc abc123456 a1b2c3 a1b2c3d4 1a2b3c qweasd123
`),
	// "password", "welcome" and other admin words with their usual tails.
	fields(`
password2 password3 password7 password9 password11 password13 password99
password01 password1234 passwords passpass pass123 pass1234 pass1 mypassword
mypass secret1 secret123 welcome2 welcome01 letmein123 login123 admin12
admin1234 adminadmin administrator1 root123 test123 test1234 test1 testing
testing123 temp123 guest123 user123 demo123 changeme1 changeme123 default1
qwerty12 qwerty1234 qwerty12345 qwertyuiop1 1qaz2wsx3edc zaq12wsxcde3
iloveyou2 iloveu iloveme loveme lovelove loveyou mylove
`),
	// Common first names.
	fields(`
james john robert michael william david richard joseph thomas charles
christopher daniel matthew anthony mark donald steven paul andrew joshua
kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob
gary nicholas eric jonathan stephen larry justin scott brandon benjamin
samuel gregory alexander frank patrick raymond jack dennis jerry tyler aaron
jose adam nathan henry douglas zachary peter kyle ethan walter noah jeremy
christian keith roger terry gerald harold sean carl arthur lawrence dylan
jesse bryan billy bruce gabriel logan albert willie alan juan wayne elijah
randy vincent ralph eugene russell bobby mason philip louis mary patricia
linda elizabeth barbara susan sarah karen lisa nancy betty margaret sandra
kimberly emily donna carol amanda dorothy melissa deborah stephanie rebecca
sharon laura cynthia kathleen angela shirley anna brenda pamela emma helen
samantha katherine christine debra rachel carolyn janet catherine maria
heather diane ruth julie olivia joyce virginia victoria kelly lauren
christina joan evelyn judith megan andrea cheryl hannah jacqueline martha
gloria teresa sara madison frances kathryn janice jean abigail alice judy
sophia grace denise amber doris marilyn danielle beverly isabella theresa
diana natalie brittany charlotte marie kayla alexis lori alex chris mike
dave steve tony nick matt josh jake sam ben tom max sophie lucy molly daisy
bella chloe lily jasmine
`),
	// Pets, animals and nature.
	fields(`
tiger lion eagle falcon wolf bear shark panther cobra bulldog puppy kitty
kitten doggy snoopy scooby garfield mickey minnie teddy bunny rabbit
butterfly dolphin horse pony turtle phoenix spider snake jaguar leopard
cowboy angel angels rainbow sunflower rose daisy1 lily1 ocean river forest
mountain storm winter spring autumn fall sunny moon star stars
`),
	// Sports, teams, games, films and brands.
	fields(`
basketball golf tennis boxing racing nascar liverpool arsenal barcelona
realmadrid juventus manchester united madrid milan bayern celtic rangers
cowboys steelers packers patriots raiders eagles giants redsox lakers1
bulls yankees1 broncos jets chicago boston newyork london paris berlin
england america canada mexico brazil france germany italia spain russia
pokemon naruto minecraft fortnite roblox zelda mario sonic matrix1 gandalf
frodo hobbit jedi yoda vader skywalker spiderman ironman hulk marvel
avengers joker hellokitty barbie disney simpsons homer bart spongebob
ferrari porsche mercedes bmw audi honda toyota corvette harley1 ducati
yamaha apple samsung iphone android windows linux microsoft cisco nokia
sony nintendo playstation xbox gamer player
`),
	// Seasons, months, days and colours.
	fields(`
january february march april may june july august september october
november december monday tuesday wednesday thursday friday saturday sunday
weekend holiday christmas easter halloween birthday red blue green yellow
orange purple black white silver golden gold pink brown violet
`),
	// Everyday words people build passwords from.
	fields(`
money happy family friends friend forever baby babygirl babyboy sweet
sweetie honey sugar candy cookie chocolate banana cherry peanut coffee
pizza beer music guitar rock rockstar metal dance singer star1 superstar
hero heaven hell devil god jesus christ faith hope peace power magic
wizard dream dreams destiny lucky lucky7 number1 legend king queen prince
princesse boss master1 dragon12 ninja samurai warrior knight pirate
soldier sniper hunter1 killer1 slayer diamond crystal silver1 platinum
beautiful pretty cute sexy hottie handsome cool awesome crazy smile
sunshine1 butterfly1 flower1 summer1 spring1 winter1 secret12 private
letmeinnow trustme nothing something anything everything whatever1 hello1
hello123 hellohello goodbye welcome12 thankyou please sorry friday1 school
college student teacher doctor nurse police fire house home garden
computer1 internet1 online email password0 qwerty0 mother father brother
sister daughter son family1 kids children
`),
	// Common surnames.
	fields(`
smith johnson williams brown jones garcia miller davis rodriguez martinez
hernandez lopez gonzalez wilson anderson moore jackson martin thompson
white harris clark lewis robinson walker young allen wright green baker
adams nelson hill campbell mitchell roberts carter phillips evans turner
torres parker collins edwards stewart morris murphy cook rogers morgan
cooper peterson reed bailey bell howard ward richardson wood watson brooks
bennett gray hughes price sanders myers ross foster
`),
	// More words of feeling, faith, places and things.
	fields(`
monster unicorn blessed blessing church bible heart hearts kisses xoxo babe
darling lover loving romance valentine single married wedding forever1
always never together alone freedom1 liberty justice victory winner
champion champ chicken turkey bacon cheese1 butter pumpkin apple123 orange1
lemon mango peach strawberry blueberry coconut pepper1 ginger1 cinnamon
vanilla caramel muffin cupcake donut pancake waffle burger hotdog taco
nacho tequila whiskey vodka brandy shadow1 ghost zombie vampire demon
satan lucifer hammer thunder1 lightning tornado hurricane blizzard
volcano galaxy planet universe cosmos rocket nasa space alien robot
cyborg hacker matrix123 coder developer programmer engineer science
physics mathematics history english spanish french german chinese
japanese korean india china japan korea australia sydney toronto vegas
miami texas florida california hawaii alaska dakota montana colorado
arizona nevada oregon georgia carolina virginia1 jersey brooklyn bronx
harlem detroit houston phoenix1 denver seattle portland atlanta
`),
}

func fields(s string) []string { return strings.Fields(s) }

func main() {
	seen := map[string]bool{}
	var out []string
	add := func(w string) {
		w = strings.ToLower(w)
		if len([]rune(w)) < 4 || seen[w] {
			return
		}
		seen[w] = true
		out = append(out, w)
	}
	for _, w := range fields(notorious) {
		add(w)
	}
	// Round-robin over the families, in chunks, so that ranks mix them.
	const chunk = 4
	for i := 0; ; i += chunk {
		more := false
		for _, f := range families {
			for j := i; j < i+chunk && j < len(f); j++ {
				add(f[j])
				more = true
			}
		}
		if !more {
			break
		}
	}
	f, err := os.Create("common.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	for _, word := range out {
		fmt.Fprintln(w, word)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "common.txt: %d entries\n", len(out))
}
