"""Reference lists the validators check values against: ISO 3166 countries (codes, names in
English and a few own languages, and CLDR's names in 30 languages from `country_names.txt`),
ISO 4217 currencies, yes/no and gender tokens, placeholders for missing values, and the words
that tell a person's name from an organisation's or a domain from a file name."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

BOOLEAN_TRUE = frozenset("true yes y t 1 on".split())
BOOLEAN_FALSE = frozenset("false no n f 0 off".split())
BOOLEAN_TOKENS = BOOLEAN_TRUE | BOOLEAN_FALSE
# Placeholders that stand for a missing value but that Silver keeps as text (its null tokens,
# "", NA, null, None, -, nan, are never sampled): spreadsheet errors, pandas' other `na_values`
# and Excel's "(blank)". A column's evidence leaves them out: they say nothing of its type.
PLACEHOLDERS = frozenset(
    "#n/a #na <na> -nan 1.#ind 1.#qnan -1.#ind -1.#qnan #ref! #value! #div/0! #name? "
    "#null! #num! (blank) (null) (empty) (none) n.a. n/v".split()
)
# Male and female in the languages of COUNTRY_NAMES' own-language entries and a few more
# (de fr es it pt nl pl cs ru uk el tr sv da fi hu ro ja zh ko ar fa hi), as adjective and noun.
_GENDER_WORDS = (
    "männlich weiblich mann frau homme femme masculin féminin hombre mujer masculino femenino "
    "maschio femmina maschile femminile uomo donna homem mulher mannelijk vrouwelijk vrouw "
    "mężczyzna kobieta męski żeński muž žena mužský ženský мужской женский мужчина женщина муж "
    "жен муж. жен. чоловік жінка чоловіча жіноча άνδρας γυναίκα άρρεν θήλυ erkek kadın kvinna "
    "mand kvinde mies nainen férfi nő bărbat femeie 男 女 男性 女性 남 여 남성 여성 남자 여자 ذكر "
    "أنثى مذكر مؤنث مرد زن पुरुष महिला स्त्री"
)
GENDERED = frozenset("m f male female man woman men women".split() + _GENDER_WORDS.split())
GENDER_TOKENS = GENDERED | frozenset(
    "other x nonbinary non-binary nb diverse divers u unknown".split()
)
# GENDERED: tokens only a sex or gender column holds (x, u, other and unknown occur elsewhere).

# Lower-case words inside personal names (Jan van der Berg, Ali bin Said).
PARTICLES = frozenset(
    "van der den de la le du da di del della dos das von ter ten bin binti ibn al el y e st".split()
)

# Endings that make a name an organisation: Acme Corp, Globex GmbH.
ORG_SUFFIXES = frozenset(
    "inc ltd llc gmbh corp corporation co plc ag sa s.a bv nv group holdings company limited "
    "kg srl spa oy ab pty lp llp".split()
)
# Generic top-level domains seen in data; two-letter ones are country codes (checked apart),
# so `invoice.pdf` or `photo.png` is not a domain.
GENERIC_TLDS = frozenset(
    "com net org info biz edu gov mil int io ai app dev tech online site store shop xyz cloud "
    "blog news media agency email live pro museum travel jobs mobi name aero coop asia tel "
    "digital network solutions services company global world space website club design".split()
)

# Extensions of 4+ letters, so that `report.docx` is no domain under the rule for long TLDs.
FILE_EXTENSIONS = frozenset(
    "docx xlsx pptx html jpeg tiff webp json yaml toml flac midi aiff mpeg webm heic avif epub "
    "pages numbers dart java scala swift less sass conf back temp part lock gzip woff ttf".split()
)
COUNTRY_ALPHA2 = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
    DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR
    GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM
    KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP
    MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL
    PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
    SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG
    VI VN VU WF WS YE YT ZA ZM ZW UK XK""".split()
)
COUNTRY_ALPHA3 = frozenset(
    """AFG ALA ALB DZA ASM AND AGO AIA ATA ATG ARG ARM ABW AUS AUT AZE BHS BHR BGD BRB BLR BEL
    BLZ BEN BMU BTN BOL BES BIH BWA BVT BRA IOT BRN BGR BFA BDI CPV KHM CMR CAN CYM CAF TCD CHL
    CHN CXR CCK COL COM COG COD COK CRI CIV HRV CUB CUW CYP CZE DNK DJI DMA DOM ECU EGY SLV GNQ
    ERI EST SWZ ETH FLK FRO FJI FIN FRA GUF PYF ATF GAB GMB GEO DEU GHA GIB GRC GRL GRD GLP GUM
    GTM GGY GIN GNB GUY HTI HMD VAT HND HKG HUN ISL IND IDN IRN IRQ IRL IMN ISR ITA JAM JPN JEY
    JOR KAZ KEN KIR PRK KOR KWT KGZ LAO LVA LBN LSO LBR LBY LIE LTU LUX MAC MDG MWI MYS MDV MLI
    MLT MHL MTQ MRT MUS MYT MEX FSM MDA MCO MNG MNE MSR MAR MOZ MMR NAM NRU NPL NLD NCL NZL NIC
    NER NGA NIU NFK MKD MNP NOR OMN PAK PLW PSE PAN PNG PRY PER PHL PCN POL PRT PRI QAT REU ROU
    RUS RWA BLM SHN KNA LCA MAF SPM VCT WSM SMR STP SAU SEN SRB SYC SLE SGP SXM SVK SVN SLB SOM
    ZAF SGS SSD ESP LKA SDN SUR SJM SWE CHE SYR TWN TJK TZA THA TLS TGO TKL TON TTO TUN TUR TKM
    TCA TUV UGA UKR ARE GBR USA UMI URY UZB VUT VEN VNM VGB VIR WLF ESH YEM ZMB ZWE""".split()
)
COUNTRY_NAMES = frozenset(
    name.strip().lower()
    for name in """Afghanistan|Albania|Algeria|Andorra|Angola|Antigua and Barbuda|Argentina|
    Armenia|Australia|Austria|Azerbaijan|Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|
    Belize|Benin|Bhutan|Bolivia|Bosnia and Herzegovina|Botswana|Brazil|Brunei|Bulgaria|
    Burkina Faso|Burundi|Cabo Verde|Cape Verde|Cambodia|Cameroon|Canada|Central African Republic|
    Chad|Chile|China|Colombia|Comoros|Congo|Democratic Republic of the Congo|Costa Rica|
    Cote d'Ivoire|Côte d'Ivoire|Ivory Coast|Croatia|Cuba|Cyprus|Czechia|Czech Republic|Denmark|
    Djibouti|Dominica|Dominican Republic|Ecuador|Egypt|El Salvador|Equatorial Guinea|Eritrea|
    Estonia|Eswatini|Swaziland|Ethiopia|Fiji|Finland|France|Gabon|Gambia|Georgia|Germany|Ghana|
    Greece|Grenada|Guatemala|Guinea|Guinea-Bissau|Guyana|Haiti|Honduras|Hong Kong|Hungary|
    Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Jamaica|Japan|Jordan|Kazakhstan|
    Kenya|Kiribati|Kosovo|Kuwait|Kyrgyzstan|Laos|Latvia|Lebanon|Lesotho|Liberia|Libya|
    Liechtenstein|Lithuania|Luxembourg|Macau|Madagascar|Malawi|Malaysia|Maldives|Mali|Malta|
    Marshall Islands|Mauritania|Mauritius|Mexico|Micronesia|Moldova|Monaco|Mongolia|Montenegro|
    Morocco|Mozambique|Myanmar|Burma|Namibia|Nauru|Nepal|Netherlands|The Netherlands|Holland|
    New Zealand|Nicaragua|Niger|Nigeria|North Korea|North Macedonia|Macedonia|Norway|Oman|
    Pakistan|Palau|Palestine|Panama|Papua New Guinea|Paraguay|Peru|Philippines|Poland|Portugal|
    Puerto Rico|Qatar|Romania|Russia|Russian Federation|Rwanda|Saint Kitts and Nevis|
    Saint Lucia|Saint Vincent and the Grenadines|Samoa|San Marino|Sao Tome and Principe|
    Saudi Arabia|Senegal|Serbia|Seychelles|Sierra Leone|Singapore|Slovakia|Slovenia|
    Solomon Islands|Somalia|South Africa|South Korea|Korea|Republic of Korea|South Sudan|Spain|
    Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Taiwan|Tajikistan|Tanzania|Thailand|
    Timor-Leste|East Timor|Togo|Tonga|Trinidad and Tobago|Tunisia|Turkey|Türkiye|Turkmenistan|
    Tuvalu|Uganda|Ukraine|United Arab Emirates|UAE|United Kingdom|Great Britain|Britain|England|
    Scotland|Wales|Northern Ireland|United States|United States of America|America|Uruguay|
    Uzbekistan|Vanuatu|Vatican City|Holy See|Venezuela|Vietnam|Viet Nam|Yemen|Zambia|Zimbabwe|
    Greenland|Faroe Islands|Gibraltar|Bermuda|Cayman Islands|Aruba|Curacao|Curaçao|Guam|
    Deutschland|España|Italia|Brasil|Österreich|Schweiz|Suisse|Nederland|Belgique|México|
    Polska|Sverige|Norge|Danmark|Suomi|Россия|中国|日本|한국""".replace("\n", "").split("|")
)
CURRENCY_CODES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)


@lru_cache(maxsize=1)
def local_country_names() -> frozenset[str]:
    """Country names in 30 languages (CLDR, `country_names.txt`), lower-cased: Deutschland,
    Tchad, チャド, Непал... Read on first use."""
    text = resources.files(__package__).joinpath("country_names.txt").read_text("utf-8")
    return frozenset(
        name
        for line in text.splitlines()
        if line and not line.startswith("#")
        for name in line.partition("\t")[2].split("|")
    )
