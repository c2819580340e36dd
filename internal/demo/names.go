package demo

// Name lists for synthetic people. Each name has its native spelling and
// a Latin transliteration (for email addresses). The lists hold common
// given names and family names of Iran, the Arab Gulf and the English-
// speaking world.

type name struct {
	native string
	latin  string
}

func names(pairs ...string) []name {
	out := make([]name, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, name{pairs[i], pairs[i+1]})
	}
	return out
}

var persianMale = names(
	"علی", "ali", "محمد", "mohammad", "حسین", "hossein", "رضا", "reza", "مهدی", "mehdi",
	"امیر", "amir", "حسن", "hassan", "سعید", "saeed", "مجید", "majid", "احمد", "ahmad",
	"محسن", "mohsen", "حمید", "hamid", "مصطفی", "mostafa", "جواد", "javad", "علیرضا", "alireza",
	"محمدرضا", "mohammadreza", "امین", "amin", "کامران", "kamran", "بابک", "babak", "داریوش", "dariush",
	"کوروش", "kourosh", "سیاوش", "siavash", "فرهاد", "farhad", "بهرام", "bahram", "پیمان", "peyman",
	"آرش", "arash", "نیما", "nima", "پویا", "pouya", "سامان", "saman", "میلاد", "milad",
	"یاسر", "yaser", "هادی", "hadi", "وحید", "vahid", "مسعود", "masoud", "اکبر", "akbar",
	"کیوان", "keyvan", "شهرام", "shahram", "بهزاد", "behzad", "فرشید", "farshid", "ایمان", "iman",
	"ابراهیم", "ebrahim", "اسماعیل", "esmaeil", "یوسف", "yousef", "مرتضی", "morteza", "سجاد", "sajjad",
	"رامین", "ramin", "کاوه", "kaveh", "شایان", "shayan", "آرمان", "arman", "پارسا", "parsa",
)

var persianFemale = names(
	"فاطمه", "fatemeh", "زهرا", "zahra", "مریم", "maryam", "سارا", "sara", "نرگس", "narges",
	"لیلا", "leila", "مهسا", "mahsa", "الهام", "elham", "نازنین", "nazanin", "شیما", "shima",
	"پریسا", "parisa", "سمیرا", "samira", "مینا", "mina", "نسرین", "nasrin", "فرزانه", "farzaneh",
	"آزاده", "azadeh", "شیرین", "shirin", "مهناز", "mahnaz", "ژاله", "zhaleh", "رویا", "roya",
	"نگار", "negar", "هانیه", "haniyeh", "کیمیا", "kimia", "یاسمن", "yasaman", "آیدا", "aida",
	"ترانه", "taraneh", "پرستو", "parastoo", "بهاره", "bahareh", "سحر", "sahar", "طاهره", "tahereh",
	"معصومه", "masoumeh", "اعظم", "azam", "منیژه", "manijeh", "گلناز", "golnaz", "شهرزاد", "shahrzad",
	"ستاره", "setareh", "نیلوفر", "niloufar", "مهتاب", "mahtab", "فریبا", "fariba", "سوسن", "sousan",
	"آتنا", "atena", "الناز", "elnaz", "مژگان", "mozhgan", "راحله", "raheleh", "صبا", "saba",
)

var persianLast = names(
	"احمدی", "ahmadi", "محمدی", "mohammadi", "رضایی", "rezaei", "حسینی", "hosseini", "کریمی", "karimi",
	"موسوی", "mousavi", "جعفری", "jafari", "صادقی", "sadeghi", "رحیمی", "rahimi", "هاشمی", "hashemi",
	"قاسمی", "ghasemi", "مرادی", "moradi", "نوری", "nouri", "کاظمی", "kazemi", "ابراهیمی", "ebrahimi",
	"عباسی", "abbasi", "زارعی", "zarei", "طاهری", "taheri", "سلطانی", "soltani", "شریفی", "sharifi",
	"نجفی", "najafi", "اکبری", "akbari", "حیدری", "heidari", "بهرامی", "bahrami", "یوسفی", "yousefi",
	"فرهادی", "farhadi", "امینی", "amini", "تهرانی", "tehrani", "شیرازی", "shirazi", "اصفهانی", "esfahani",
	"تبریزی", "tabrizi", "کرمانی", "kermani", "یزدی", "yazdi", "مشهدی", "mashhadi", "قزوینی", "ghazvini",
	"نیک‌نام", "niknam", "پاکزاد", "pakzad", "فروتن", "foroutan", "شجاعی", "shojaei", "دلاوری", "delavari",
	"خسروی", "khosravi", "منصوری", "mansouri", "سعیدی", "saeedi", "وکیلی", "vakili", "افشار", "afshar",
	"بهبهانی", "behbahani", "کیانی", "kiani", "روحانی", "rouhani", "میرزایی", "mirzaei", "جهانگیری", "jahangiri",
	"نادری", "naderi", "فاضلی", "fazeli", "صالحی", "salehi", "رستمی", "rostami", "انصاری", "ansari",
	"زمانی", "zamani", "پورمحمدی", "pourmohammadi", "حسن‌زاده", "hassanzadeh", "علیزاده", "alizadeh", "قربانی", "ghorbani",
)

var arabicMale = names(
	"محمد", "mohammed", "أحمد", "ahmed", "علي", "ali", "عمر", "omar", "خالد", "khaled",
	"عبدالله", "abdullah", "يوسف", "youssef", "إبراهيم", "ibrahim", "حسن", "hassan", "حسين", "hussein",
	"سعيد", "saeed", "فهد", "fahad", "سلطان", "sultan", "راشد", "rashid", "ماجد", "majid",
	"ناصر", "nasser", "فيصل", "faisal", "تركي", "turki", "سلمان", "salman", "منصور", "mansour",
	"طارق", "tariq", "زياد", "ziad", "عادل", "adel", "كريم", "karim", "هشام", "hisham",
	"وليد", "walid", "بدر", "badr", "جاسم", "jassim", "حمد", "hamad", "مبارك", "mubarak",
	"عبدالرحمن", "abdulrahman", "عبدالعزيز", "abdulaziz", "مصطفى", "mustafa", "ياسر", "yasser", "نواف", "nawaf",
	"سيف", "saif", "حمدان", "hamdan", "مروان", "marwan", "أنس", "anas", "بلال", "bilal",
)

var arabicFemale = names(
	"فاطمة", "fatima", "عائشة", "aisha", "مريم", "maryam", "نورة", "noura", "سارة", "sara",
	"ليلى", "layla", "هند", "hind", "منى", "mona", "ريم", "reem", "لطيفة", "latifa",
	"شيخة", "sheikha", "حصة", "hessa", "دانة", "dana", "أمل", "amal", "سلمى", "salma",
	"نور", "nour", "رنا", "rana", "هالة", "hala", "جميلة", "jamila", "خديجة", "khadija",
	"زينب", "zainab", "أسماء", "asma", "رشا", "rasha", "دينا", "dina", "ياسمين", "yasmin",
	"لمى", "lama", "غادة", "ghada", "عبير", "abeer", "وفاء", "wafaa", "شهد", "shahad",
)

var arabicLast = names(
	"المنصوري", "almansoori", "الهاشمي", "alhashimi", "القاسمي", "alqasimi", "الشامسي", "alshamsi", "الكعبي", "alkaabi",
	"المهيري", "almheiri", "الظاهري", "aldhaheri", "النعيمي", "alnuaimi", "السويدي", "alsuwaidi", "المري", "almarri",
	"الفلاسي", "alfalasi", "البلوشي", "albalushi", "العتيبي", "alotaibi", "القحطاني", "alqahtani", "الغامدي", "alghamdi",
	"الزهراني", "alzahrani", "الدوسري", "aldosari", "الشمري", "alshammari", "الحربي", "alharbi", "المطيري", "almutairi",
	"العنزي", "alanazi", "السبيعي", "alsubaie", "الشهري", "alshehri", "العمري", "alomari", "الرشيد", "alrashid",
	"السعدي", "alsaadi", "الخطيب", "alkhatib", "الحسيني", "alhusseini", "النجار", "alnajjar", "الحداد", "alhaddad",
	"العلي", "alali", "الأحمد", "alahmad", "التميمي", "altamimi", "الجابري", "aljabri", "الكبيسي", "alkubaisi",
	"بن راشد", "binrashid", "بن سعيد", "binsaeed", "الفارس", "alfaris", "الخياط", "alkhayat", "اليامي", "alyami",
)

var englishMale = names(
	"James", "james", "John", "john", "Robert", "robert", "Michael", "michael", "William", "william",
	"David", "david", "Richard", "richard", "Joseph", "joseph", "Thomas", "thomas", "Charles", "charles",
	"Daniel", "daniel", "Matthew", "matthew", "Anthony", "anthony", "Mark", "mark", "Steven", "steven",
	"Paul", "paul", "Andrew", "andrew", "Joshua", "joshua", "Kevin", "kevin", "Brian", "brian",
	"George", "george", "Edward", "edward", "Ryan", "ryan", "Jacob", "jacob", "Oliver", "oliver",
	"Harry", "harry", "Jack", "jack", "Noah", "noah", "Liam", "liam", "Ethan", "ethan",
	"Samuel", "samuel", "Benjamin", "benjamin", "Henry", "henry", "Alexander", "alexander", "Peter", "peter",
)

var englishFemale = names(
	"Mary", "mary", "Patricia", "patricia", "Jennifer", "jennifer", "Linda", "linda", "Elizabeth", "elizabeth",
	"Barbara", "barbara", "Susan", "susan", "Jessica", "jessica", "Sarah", "sarah", "Karen", "karen",
	"Nancy", "nancy", "Lisa", "lisa", "Emily", "emily", "Emma", "emma", "Olivia", "olivia",
	"Sophia", "sophia", "Charlotte", "charlotte", "Amelia", "amelia", "Isla", "isla", "Grace", "grace",
	"Hannah", "hannah", "Rachel", "rachel", "Laura", "laura", "Rebecca", "rebecca", "Megan", "megan",
	"Chloe", "chloe", "Lucy", "lucy", "Alice", "alice", "Ruby", "ruby", "Victoria", "victoria",
)

var englishLast = names(
	"Smith", "smith", "Johnson", "johnson", "Williams", "williams", "Brown", "brown", "Jones", "jones",
	"Garcia", "garcia", "Miller", "miller", "Davis", "davis", "Wilson", "wilson", "Anderson", "anderson",
	"Taylor", "taylor", "Thomas", "thomas", "Moore", "moore", "Jackson", "jackson", "Martin", "martin",
	"Lee", "lee", "Thompson", "thompson", "White", "white", "Harris", "harris", "Clark", "clark",
	"Lewis", "lewis", "Robinson", "robinson", "Walker", "walker", "Young", "young", "Allen", "allen",
	"King", "king", "Wright", "wright", "Scott", "scott", "Green", "green", "Baker", "baker",
	"Adams", "adams", "Nelson", "nelson", "Hill", "hill", "Campbell", "campbell", "Mitchell", "mitchell",
	"Roberts", "roberts", "Carter", "carter", "Phillips", "phillips", "Evans", "evans", "Turner", "turner",
	"Parker", "parker", "Collins", "collins", "Edwards", "edwards", "Stewart", "stewart", "Morris", "morris",
	"Hughes", "hughes", "Cooper", "cooper", "Ward", "ward", "Wood", "wood", "Bennett", "bennett",
)

// Company name parts per language: a stem and a kind of business.
var persianCompanyStems = []string{"پیوند", "آریا", "پارس", "البرز", "دماوند", "سپهر", "کاوش", "نگین", "آفتاب", "مهر",
	"ستاره", "رایان", "پرشیا", "سپید", "آسمان", "زاگرس", "کیان", "نوین", "بهار", "آرمان", "شایان", "تابان", "روشن", "ایده"}
var persianCompanyKinds = []string{"تجارت", "صنعت", "پخش", "بازرگانی", "فناوری", "سازه", "گستر", "پردازش", "طب", "کالا"}
var arabicCompanyStems = []string{"الخليج", "النور", "الأمل", "الفجر", "الريادة", "الواحة", "السلام", "الصقر", "النخبة",
	"الإمارات", "الجزيرة", "الرمال", "المستقبل", "الرؤية", "البيان", "الشروق", "الهلال", "الدانة"}
var arabicCompanyKinds = []string{"للتجارة", "للمقاولات", "للتقنية", "للاستثمار", "للخدمات", "للأغذية", "للسياحة", "للعقارات"}
var englishCompanyStems = []string{"Acme", "Northwind", "Blue Harbor", "Silverline", "Brightside", "Cedar", "Evergreen",
	"Summit", "Redwood", "Atlas", "Beacon", "Crescent", "Pioneer", "Keystone", "Riverside", "Oakwood", "Horizon", "Granite"}
var englishCompanyKinds = []string{"Trading", "Logistics", "Foods", "Software", "Consulting", "Retail", "Labs", "Partners", "Supplies", "Health"}

var persianRoles = []string{"مدیر فروش", "مدیرعامل", "کارشناس خرید", "حسابدار", "مدیر بازاریابی", "مسئول انبار", "کارشناس فروش", "مدیر مالی"}
var arabicRoles = []string{"مدير المبيعات", "المدير التنفيذي", "مسؤول المشتريات", "محاسب", "مدير التسويق", "مدير العمليات"}
var englishRoles = []string{"Sales Manager", "CEO", "Purchasing Officer", "Accountant", "Marketing Director", "Operations Manager", "Buyer"}

var persianTags = []string{"مشتری ویژه", "عمده‌فروش", "خبرنامه", "سرنخ", "وفادار", "تهران", "نمایشگاه"}
var arabicTags = []string{"عميل مميز", "جملة", "النشرة", "عميل محتمل", "مخلص", "معرض"}
var englishTags = []string{"vip", "wholesale", "newsletter", "lead", "loyal", "trade show", "partner"}

type city struct {
	name    string
	region  string
	country string
	street  []string
}

var iranCities = []city{
	{"تهران", "تهران", "IR", []string{"خیابان ولیعصر", "خیابان انقلاب", "خیابان شریعتی", "بلوار کشاورز", "خیابان آزادی"}},
	{"اصفهان", "اصفهان", "IR", []string{"خیابان چهارباغ", "خیابان نظر", "خیابان هزارجریب"}},
	{"شیراز", "فارس", "IR", []string{"خیابان زند", "بلوار چمران", "خیابان ملاصدرا"}},
	{"مشهد", "خراسان رضوی", "IR", []string{"بلوار وکیل‌آباد", "خیابان امام رضا", "بلوار سجاد"}},
	{"تبریز", "آذربایجان شرقی", "IR", []string{"خیابان امام", "خیابان ولیعصر", "خیابان آزادی"}},
	{"کرج", "البرز", "IR", []string{"بلوار جمهوری", "خیابان طالقانی"}},
}

var arabCities = []city{
	{"دبي", "دبي", "AE", []string{"شارع الشيخ زايد", "شارع الوصل", "شارع الرقة"}},
	{"أبوظبي", "أبوظبي", "AE", []string{"شارع الكورنيش", "شارع حمدان", "شارع المطار"}},
	{"الشارقة", "الشارقة", "AE", []string{"شارع الملك فيصل", "شارع الوحدة"}},
	{"الرياض", "الرياض", "SA", []string{"طريق الملك فهد", "شارع العليا", "طريق الملك عبدالله"}},
	{"جدة", "مكة المكرمة", "SA", []string{"شارع التحلية", "طريق المدينة", "شارع فلسطين"}},
	{"الدمام", "المنطقة الشرقية", "SA", []string{"شارع الملك سعود", "طريق الخليج"}},
}

var englishCities = []city{
	{"New York", "NY", "US", []string{"Broadway", "Fifth Avenue", "Madison Avenue", "Lexington Avenue"}},
	{"San Francisco", "CA", "US", []string{"Market Street", "Mission Street", "Valencia Street"}},
	{"Chicago", "IL", "US", []string{"Michigan Avenue", "State Street", "Clark Street"}},
	{"Austin", "TX", "US", []string{"Congress Avenue", "Lamar Boulevard"}},
	{"London", "", "GB", []string{"Baker Street", "Oxford Street", "Kings Road", "Fleet Street"}},
	{"Manchester", "", "GB", []string{"Deansgate", "Oxford Road", "Market Street"}},
	{"Edinburgh", "", "GB", []string{"Princes Street", "Royal Mile", "George Street"}},
}

// Mobile prefixes (national significant number) that libphonenumber
// accepts as valid, and US area codes.
var (
	iranMobile   = []string{"912", "913", "914", "915", "916", "917", "918", "919", "935", "936", "937", "938", "939", "901", "902", "921", "922", "990"}
	uaeMobile    = []string{"50", "52", "54", "55", "56", "58"}
	saudiMobile  = []string{"50", "53", "54", "55", "56", "58", "59"}
	usAreaCodes  = []string{"212", "213", "312", "415", "512", "617", "646", "702", "713", "718", "737", "773", "818", "917", "206", "303", "404", "503"}
	ukMobilePref = []string{"74", "75", "78", "79"}
)

var emailDomains = map[string][]string{
	"fa": {"gmail.com", "yahoo.com", "chmail.ir", "outlook.com", "mail.ir"},
	"ar": {"gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "emirates.net.ae"},
	"en": {"gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "example.co.uk"},
}

var notesByLang = map[string][]string{
	"fa": {"در نمایشگاه تهران آشنا شدیم.", "مشتری قدیمی؛ خرید سالانه.", "برای دمو تماس گرفته شود.", "تخفیف ۱۰٪ خواسته است."},
	"ar": {"التقينا في معرض دبي.", "عميل قديم، يشتري سنويا.", "يرغب في عرض توضيحي.", "طلب خصما خاصا."},
	"en": {"Met at the trade fair.", "Long-time customer, buys yearly.", "Wants a demo next week.", "Asked for a volume discount."},
}
