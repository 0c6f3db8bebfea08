#!/usr/bin/perl

# A deterministic catalog for the benchmarks: N products (default 10,000)
# in the format of conf/catalog/sample.json, for `cartbot-ctl import`.
#
#   perl bench/gen_products.pl [N] [SEED] > products.json
#
# The same N and SEED give the same bytes: the only randomness is the
# xorshift32 generator below (no rand(), no hash order, no external data).
# Prices and stock go through Perl's **, exp and log, so a libm that
# rounds differently could change a rare value; bench/search.pl prints
# the catalog's sha256 (10,000 products, seed 20261122: c0cb1accbebbc20d
# on Debian 12).  Each product draws a kind (a category and sub-category
# with its own nouns, modifiers, features, uses, specs and price range),
# a brand, often a colour and a line suffix, and gets a description of
# two to five sentences picked from the kind's and generic pools, specs,
# a price in the kind's range with shop-like endings, a rating (sometimes
# none), a stock level (about 8 % sold out) and an image path.  Ids are
# bench_00001 ... in order; names are unique.
# The output is a JSON array with one product per line, keys sorted.

use strict;
use warnings;

use JSON::PP;

my $count = shift // 10_000;
my $seed = shift // 20261122;

die "usage: $0 [N] [SEED]\n" unless $count =~ /^\d+$/ && $seed =~ /^\d+$/;

# --- the generator: xorshift32 (Marsaglia), 32-bit arithmetic only --------

my $state = ($seed & 0xffffffff) || 2463534242;

sub rnd {
    $state ^= ($state << 13) & 0xffffffff;
    $state ^= $state >> 17;
    $state ^= ($state << 5) & 0xffffffff;
    return $state;
}

sub below { return rnd() % $_[0] }                  # 0 .. n-1
sub unit { return rnd() / 4294967296 }              # [0, 1)
sub pick { my $l = shift; return $l->[below(scalar @$l)] }
sub chance { return unit() < $_[0] }

# k distinct elements of a list, in a random order
sub some {
    my ($l, $k) = @_;
    my @i = 0 .. $#$l;
    my @out;
    while (@out < $k && @i) {
        push @out, $l->[splice @i, below(scalar @i), 1];
    }
    return @out;
}

# --- vocabulary --------------------------------------------------------------

my @brands = qw/ Northwind Alderly Kestrel Bramble Fjordline Copperleaf
    Halcyon Meridian Oakhurst Pinecrest Quillon Redfern Saltmarsh Tidewater
    Umbra Vantage Willowby Yarrow Zephyr Aurora Basalt Cinder Driftwood
    Ember Foxglove Granite Heron Ironbark Juniper Lumen Marlow Nimbus
    Orchard Pebble Riverstone Summit Thistle Vireo Wren Solstice /;

my @colors = ('Black', 'White', 'Navy', 'Grey', 'Charcoal', 'Red', 'Olive',
    'Forest Green', 'Sky Blue', 'Blue', 'Burgundy', 'Sand', 'Cream',
    'Mustard', 'Teal', 'Rust', 'Lavender', 'Pink', 'Brown', 'Sage');

my @suffixes = ('', '', '', '', 'Pro', 'Lite', 'Plus', 'II', 'Max',
    'Classic', 'Essential', 'Everyday', 'Original', 'Studio', 'Trail',
    'Urban', 'Compact', 'Deluxe', '2.0', 'Signature');

my @generic = (
    'Backed by a two-year warranty.',
    'Ships in plastic-free packaging.',
    'Designed in small batches and tested by our team before release.',
    'A customer favourite that makes a thoughtful gift.',
    'Easy to clean and built to last for years.',
    'Free returns within 30 days if it is not right for you.',
    'Made in a factory audited for fair working conditions.',
    'Part of our best-selling range, restocked every season.',
);

# category, sub-category, price range, nouns, modifiers, features, uses,
# specs (a template: {n2} 2-digit, {n3} 3-digit, {pct}, {size}, {color})
my @kinds = (
    ['apparel', 't-shirts', 9, 45,
     ['T-Shirt', 'Tee', 'Crew Neck Tee', 'V-Neck Tee', 'Pocket Tee',
      'Long Sleeve Tee'],
     ['Organic Cotton', 'Slub Cotton', 'Graphic', 'Heavyweight', 'Oversized',
      'Slim Fit', 'Striped', 'Linen Blend'],
     ['Soft combed cotton that gets softer with every wash.',
      'Pre-shrunk so it keeps its size wash after wash.',
      'Double-stitched hems and a ribbed collar that keeps its shape.',
      'A relaxed fit that works on its own or under a jacket.'],
     ['for everyday wear', 'for layering', 'for warm summer days'],
     ['{pct}% cotton, {n3} gsm jersey, sizes XS-XXL',
      '100% organic cotton, sizes S-XL']],
    ['apparel', 'shirts', 25, 90,
     ['Oxford Shirt', 'Flannel Shirt', 'Linen Shirt', 'Denim Shirt',
      'Button-Down Shirt', 'Overshirt'],
     ['Brushed', 'Washed', 'Checked', 'Relaxed Fit', 'Tailored', 'Corduroy'],
     ['Mother-of-pearl buttons and a curved hem.',
      'Brushed on both sides for a warm, soft hand.',
      'A button-down collar that stays neat under a sweater.'],
     ['for the office', 'for weekends', 'for cool autumn evenings'],
     ['100% cotton, sizes S-XXL', '{pct}% linen, garment washed']],
    ['apparel', 'knitwear', 35, 160,
     ['Sweater', 'Cardigan', 'Jumper', 'Turtleneck', 'Cable Knit Sweater'],
     ['Merino Wool', 'Cashmere', 'Lambswool', 'Chunky', 'Fine Gauge',
      'Ribbed'],
     ['Knitted from soft wool that keeps you warm without bulk.',
      'Ribbed cuffs and hem hold their shape all winter.',
      'Naturally breathable and odour resistant.'],
     ['for cold winter days', 'for layering over a shirt', 'for travel'],
     ['100% merino wool, {n2} micron', '{pct}% wool, hand wash cold']],
    ['apparel', 'outerwear', 60, 320,
     ['Rain Jacket', 'Puffer Jacket', 'Parka', 'Fleece Jacket',
      'Windbreaker', 'Down Vest', 'Softshell Jacket'],
     ['Waterproof', 'Packable', 'Insulated', 'Recycled', 'Hooded',
      'Lightweight', 'Quilted'],
     ['Taped seams and a waterproof shell keep rain out.',
      'Packs into its own pocket for travel.',
      'Warm synthetic insulation that still works when wet.',
      'An adjustable hood and storm flap block the wind.'],
     ['for rainy commutes', 'for hiking', 'for winter city walks'],
     ['{n2},000 mm waterproof rating, {n3} g',
      '{n3} fill power down, recycled nylon shell']],
    ['apparel', 'trousers', 35, 120,
     ['Chinos', 'Jeans', 'Cargo Trousers', 'Joggers', 'Hiking Pants'],
     ['Slim', 'Straight Leg', 'Stretch', 'Relaxed', 'Water-Repellent',
      'Organic Denim'],
     ['A touch of stretch for comfort all day.',
      'Deep pockets and a gusseted crotch for free movement.',
      'Garment dyed for a soft, lived-in look.'],
     ['for work and weekends', 'for the trail', 'for travel days'],
     ['98% cotton, 2% elastane, waist 28-40', 'inseam {n2} in']],
    ['apparel', 'socks', 6, 28,
     ['Socks', 'Crew Socks', 'Ankle Socks', 'Hiking Socks',
      'Running Socks', 'Wool Socks'],
     ['Merino', 'Cushioned', 'Bamboo', 'Compression', 'Striped',
      'Thermal'],
     ['Cushioned soles protect your feet on long days.',
      'Merino wool wicks moisture and resists odour.',
      'Seamless toes that never rub.'],
     ['for hiking boots', 'for running', 'for everyday comfort'],
     ['{pct}% merino wool, pack of {n1}', 'sizes S-XL, pack of 3']],
    ['apparel', 'accessories', 12, 80,
     ['Beanie', 'Scarf', 'Baseball Cap', 'Leather Belt', 'Gloves',
      'Sun Hat'],
     ['Wool', 'Knitted', 'Canvas', 'Leather', 'Waterproof', 'Reversible'],
     ['One size fits most.',
      'Soft against the skin with no itch.',
      'Full-grain leather that ages beautifully.'],
     ['for cold mornings', 'for sunny days', 'as a gift'],
     ['one size', '100% wool']],
    ['apparel', 'activewear', 20, 85,
     ['Running Shirt', 'Leggings', 'Sports Bra', 'Training Shorts',
      'Track Jacket'],
     ['Moisture-Wicking', 'High-Waisted', 'Breathable', 'Reflective',
      'Quick-Dry', 'Seamless'],
     ['Moisture-wicking fabric dries fast during workouts.',
      'Flatlock seams prevent chafing on long runs.',
      'Reflective details for early mornings and late evenings.'],
     ['for the gym', 'for running', 'for yoga and pilates'],
     ['88% recycled polyester, 12% elastane', 'UPF {n2}, sizes XS-XL']],
    ['footwear', 'running shoes', 60, 180,
     ['Running Shoes', 'Trail Running Shoes', 'Racing Flats',
      'Road Running Shoes'],
     ['Cushioned', 'Lightweight', 'Stability', 'Carbon Plate', 'Wide Fit',
      'Neutral'],
     ['A responsive foam midsole returns energy with every stride.',
      'A breathable mesh upper keeps feet cool.',
      'A grippy rubber outsole for wet roads.'],
     ['for road running', 'for marathon training', 'for trail runs'],
     ['{n2} mm heel-to-toe drop, {n3} g', 'sizes 5-13']],
    ['footwear', 'boots', 70, 260,
     ['Hiking Boots', 'Chelsea Boots', 'Work Boots', 'Snow Boots',
      'Ankle Boots'],
     ['Waterproof', 'Leather', 'Insulated', 'Suede', 'Steel Toe',
      'Lightweight'],
     ['A waterproof membrane keeps feet dry in puddles and snow.',
      'Grippy lugged outsoles for mud and rock.',
      'Full-grain leather uppers that can be resoled.'],
     ['for walking in the mountains', 'for winter', 'for the job site'],
     ['waterproof membrane, sizes 6-13', '{n3} g insulation']],
    ['footwear', 'sneakers', 45, 150,
     ['Sneakers', 'Canvas Sneakers', 'High Tops', 'Slip-On Sneakers',
      'Court Shoes'],
     ['Classic', 'Leather', 'Recycled', 'Minimal', 'Retro', 'Vegan'],
     ['A cushioned insole for all-day comfort.',
      'Vulcanised rubber soles that last.',
      'Clean lines that go with anything.'],
     ['for everyday wear', 'for the city', 'for casual Fridays'],
     ['sizes 4-13', 'vegan materials']],
    ['footwear', 'sandals', 20, 90,
     ['Sandals', 'Flip Flops', 'Slides', 'Hiking Sandals'],
     ['Cork', 'Adjustable', 'Waterproof', 'Leather', 'Cushioned'],
     ['A contoured cork footbed that moulds to your foot.',
      'Quick-drying straps for beach and river.'],
     ['for summer', 'for the beach', 'for holidays'],
     ['sizes 5-12']],
    ['footwear', 'slippers', 15, 70,
     ['Slippers', 'Moccasins', 'House Shoes'],
     ['Sheepskin', 'Wool', 'Memory Foam', 'Fleece-Lined'],
     ['A soft lining keeps toes warm on cold floors.',
      'A rubber sole for quick trips outside.'],
     ['for lazy Sundays', 'for cold floors', 'as a cosy gift'],
     ['sizes S-XL']],
    ['electronics', 'audio', 25, 380,
     ['Wireless Headphones', 'Earbuds', 'Bluetooth Speaker',
      'Over-Ear Headphones', 'Soundbar', 'Portable Speaker'],
     ['Noise Cancelling', 'True Wireless', 'Waterproof', 'Studio',
      'Bass Boost', 'Open-Ear'],
     ['Active noise cancelling blocks out trains, planes and offices.',
      'Up to {n2} hours of battery life on one charge.',
      'Bluetooth 5.3 with multipoint pairing.',
      'Rich sound with deep bass and clear vocals.'],
     ['for commuting', 'for the gym', 'for music at home'],
     ['Bluetooth 5.3, {n2} h battery, USB-C', '{n2} mm drivers, {n3} g']],
    ['electronics', 'chargers', 15, 90,
     ['USB-C Charger', 'Wireless Charger', 'Power Bank', 'Car Charger',
      'Charging Stand'],
     ['Fast', 'GaN', 'Compact', 'Magnetic', 'Dual Port', 'Travel'],
     ['Charges a laptop and a phone at the same time.',
      'GaN technology in a charger the size of a phone plug.',
      'Built-in protection against overheating and short circuits.'],
     ['for laptops and phones', 'for travel', 'for the car'],
     ['{n2} W USB-C PD', '{n2},000 mAh, USB-C in and out']],
    ['electronics', 'cables', 6, 35,
     ['USB-C Cable', 'HDMI Cable', 'Lightning Cable', 'Ethernet Cable',
      'Extension Lead'],
     ['Braided', 'Fast Charging', '4K', 'Flat', 'Long'],
     ['A braided jacket survives thousands of bends.',
      'Supports fast charging and data transfer.'],
     ['for the desk', 'for travel', 'for the living room'],
     ['{n1} m, braided nylon', '{n2} W, USB 3.2']],
    ['electronics', 'computer accessories', 15, 220,
     ['Mechanical Keyboard', 'Wireless Mouse', 'Laptop Stand', 'Webcam',
      'USB-C Hub', 'Monitor Arm', 'Desk Mat'],
     ['Ergonomic', 'Wireless', 'Aluminium', 'Compact', 'Backlit',
      'Adjustable'],
     ['An ergonomic shape that eases wrist strain.',
      'Connects over Bluetooth or a USB receiver.',
      'Folds flat to fit in a laptop bag.'],
     ['for the home office', 'for gaming', 'for laptops'],
     ['Bluetooth and 2.4 GHz, USB-C rechargeable', '{n3} x {n3} mm']],
    ['electronics', 'wearables', 40, 350,
     ['Smartwatch', 'Fitness Tracker', 'GPS Watch', 'Smart Ring'],
     ['Waterproof', 'Slim', 'Solar', 'Rugged', 'Sport'],
     ['Tracks heart rate, sleep and steps.',
      'Built-in GPS for runs and rides without a phone.',
      'Up to {n2} days of battery life.'],
     ['for running', 'for sleep tracking', 'for everyday fitness'],
     ['5 ATM water resistance, {n2} day battery']],
    ['electronics', 'tablets', 120, 650,
     ['Tablet', 'E-Reader', 'Drawing Tablet'],
     ['10-Inch', 'Paperwhite', 'Kids', 'Pro', 'Lightweight'],
     ['A glare-free screen for reading in sunlight.',
      'Weeks of battery life on one charge.',
      'Pressure-sensitive pen included.'],
     ['for reading', 'for drawing', 'for kids'],
     ['{n2} GB storage, USB-C', '{n3} ppi display']],
    ['kitchen', 'coffee', 15, 320,
     ['Coffee Grinder', 'Pour-Over Dripper', 'French Press',
      'Espresso Machine', 'Moka Pot', 'Milk Frother', 'Cold Brew Maker'],
     ['Burr', 'Stainless Steel', 'Glass', 'Manual', 'Electric',
      'Ceramic'],
     ['Conical burrs give an even grind for every brew method.',
      'Brews a rich, full-bodied cup in minutes.',
      'Easy to take apart and rinse clean.'],
     ['for coffee lovers', 'for espresso at home', 'for slow mornings'],
     ['{n2} grind settings', '{n3} ml capacity']],
    ['kitchen', 'mugs', 8, 40,
     ['Mug', 'Coffee Mug', 'Travel Mug', 'Espresso Cups', 'Tea Cup'],
     ['Ceramic', 'Stoneware', 'Insulated', 'Enamel', 'Handmade',
      'Double-Wall'],
     ['Holds a generous cup of coffee or tea.',
      'Dishwasher and microwave safe.',
      'Glazed by hand, so each one is slightly different.',
      'Keeps drinks hot for hours on the train.'],
     ['for morning coffee', 'for tea time', 'for the commute'],
     ['{n3} ml, dishwasher safe', 'set of {n1}']],
    ['kitchen', 'drinkware', 10, 55,
     ['Water Bottle', 'Tumbler', 'Wine Glasses', 'Thermos Flask',
      'Insulated Bottle'],
     ['Stainless Steel', 'Vacuum Insulated', 'Leak-Proof', 'Glass',
      'BPA-Free'],
     ['Double-wall vacuum insulation keeps drinks cold for 24 hours.',
      'A leak-proof lid for bags and backpacks.',
      'Fits most car cup holders.'],
     ['for the gym', 'for hiking', 'for the office desk'],
     ['{n3} ml, 18/8 stainless steel', 'set of {n1}']],
    ['kitchen', 'cookware', 20, 240,
     ['Skillet', 'Frying Pan', 'Saucepan', 'Dutch Oven', 'Wok',
      'Stock Pot', 'Baking Tray'],
     ['Cast Iron', 'Non-Stick', 'Stainless Steel', 'Carbon Steel',
      'Enamelled', 'Copper'],
     ['Heats evenly and holds the heat for searing.',
      'Works on gas, electric and induction hobs.',
      'Oven safe up to {n3} C.',
      'Pre-seasoned and ready to cook eggs, steaks and pancakes.'],
     ['for everyday cooking', 'for searing steaks', 'for family meals'],
     ['{n2} cm, induction ready', '{n1} l capacity']],
    ['kitchen', 'cutlery', 15, 200,
     ["Chef's Knife", 'Knife Set', 'Bread Knife', 'Paring Knife',
      'Steak Knives', 'Cutlery Set'],
     ['Japanese Steel', 'Forged', 'Damascus', 'Stainless', 'Olive Wood'],
     ['A razor-sharp edge that stays sharp.',
      'A balanced handle for safe, tireless cutting.'],
     ['for home cooks', 'for the dinner table', 'as a wedding gift'],
     ['{n2} cm blade, {n2} HRC', 'set of {n1}']],
    ['kitchen', 'appliances', 25, 400,
     ['Blender', 'Electric Kettle', 'Toaster', 'Air Fryer',
      'Stand Mixer', 'Rice Cooker', 'Slow Cooker'],
     ['Compact', 'Variable Temperature', 'Digital', 'Stainless Steel',
      'High-Speed', 'Quiet'],
     ['Powerful enough for smoothies, soups and nut butters.',
      'Boils water in under three minutes.',
      'Crisps food with little or no oil.'],
     ['for small kitchens', 'for busy mornings', 'for meal prep'],
     ['{n3} W, {n1} l', 'BPA-free, dishwasher-safe parts']],
    ['kitchen', 'tea', 6, 80,
     ['Teapot', 'Tea Infuser', 'Loose Leaf Tea', 'Tea Sampler',
      'Matcha Set'],
     ['Cast Iron', 'Glass', 'Organic', 'Green', 'Earl Grey', 'Herbal'],
     ['Steeps loose leaf tea to full flavour.',
      'Organic leaves from a single estate.'],
     ['for tea lovers', 'for afternoon tea', 'as a gift'],
     ['{n3} ml', '{n2} servings']],
    ['kitchen', 'food storage', 8, 60,
     ['Food Containers', 'Lunch Box', 'Storage Jars', 'Beeswax Wraps',
      'Bento Box'],
     ['Glass', 'Stackable', 'Airtight', 'Leak-Proof', 'Reusable'],
     ['Airtight lids keep food fresh for longer.',
      'Oven, freezer and dishwasher safe.'],
     ['for meal prep', 'for school lunches', 'for the pantry'],
     ['set of {n1}', '{n3} ml each']],
    ['home', 'candles', 10, 55,
     ['Scented Candle', 'Soy Candle', 'Pillar Candle', 'Tea Lights',
      'Candle Set'],
     ['Lavender', 'Vanilla', 'Sandalwood', 'Cedarwood', 'Fig', 'Sea Salt',
      'Unscented'],
     ['Hand-poured soy wax with a cotton wick.',
      'Burns cleanly for up to {n2} hours.',
      'A calming scent for evenings in.'],
     ['for relaxing', 'for the bedroom', 'as a housewarming gift'],
     ['{n3} g soy wax, {n2} h burn time']],
    ['home', 'textiles', 15, 180,
     ['Throw Blanket', 'Duvet Cover', 'Cushion Cover', 'Bath Towels',
      'Bed Sheets', 'Rug'],
     ['Linen', 'Chunky Knit', 'Organic Cotton', 'Velvet', 'Waffle',
      'Wool'],
     ['Stonewashed for a soft, relaxed look.',
      'Breathable fabric for cool nights.',
      'Machine washable at 40 C.'],
     ['for the sofa', 'for the bedroom', 'for guests'],
     ['{n3} x {n3} cm', '{n3} thread count']],
    ['home', 'furniture', 60, 900,
     ['Sofa', 'Armchair', 'Bookshelf', 'Coffee Table', 'Desk',
      'Office Chair', 'Bed Frame'],
     ['Oak', 'Walnut', 'Velvet', 'Mid-Century', 'Ergonomic', 'Rattan'],
     ['Solid wood frame with a natural oil finish.',
      'Assembles in about twenty minutes.',
      'Seats three in comfort.'],
     ['for small apartments', 'for the home office', 'for the living room'],
     ['{n3} x {n2} x {n2} cm', 'solid oak, holds {n3} kg']],
    ['home', 'lighting', 20, 220,
     ['Desk Lamp', 'Floor Lamp', 'Pendant Light', 'String Lights',
      'Table Lamp', 'Smart Bulb'],
     ['LED', 'Dimmable', 'Brass', 'Rattan', 'Smart', 'Warm White'],
     ['Dimmable warm light for reading and relaxing.',
      'Energy-efficient LED that lasts for years.'],
     ['for reading', 'for the bedroom', 'for the garden'],
     ['{n3} lumens, 2700 K', 'E27 bulb included']],
    ['home', 'decor', 10, 150,
     ['Vase', 'Wall Mirror', 'Photo Frame', 'Wall Clock', 'Plant Pot',
      'Art Print'],
     ['Ceramic', 'Brass', 'Minimal', 'Handmade', 'Terracotta', 'Glass'],
     ['A finishing touch for shelves and mantels.',
      'Handmade, so each piece is unique.'],
     ['for the living room', 'for the hallway', 'as a housewarming gift'],
     ['{n2} cm tall', '{n2} x {n2} cm']],
    ['home', 'garden', 10, 200,
     ['Garden Hose', 'Planter', 'Pruning Shears', 'Bird Feeder',
      'Watering Can', 'Garden Kneeler'],
     ['Expandable', 'Galvanised', 'Ergonomic', 'Raised', 'Self-Watering'],
     ['Rust-proof for years outdoors.',
      'Sharp blades cut cleanly through branches.'],
     ['for the balcony', 'for the vegetable patch', 'for gardeners'],
     ['{n2} m', '{n1} l capacity']],
    ['beauty', 'skin care', 8, 70,
     ['Moisturiser', 'Face Serum', 'Cleanser', 'Sunscreen', 'Eye Cream',
      'Face Mask'],
     ['Hydrating', 'Vitamin C', 'Mineral SPF 50', 'Fragrance-Free',
      'Retinol', 'Gentle'],
     ['Suitable for sensitive skin.',
      'Absorbs quickly without a greasy feel.',
      'Dermatologist tested and free of parabens.'],
     ['for dry skin', 'for sensitive skin', 'for daily use'],
     ['{n2} ml', 'SPF {n2}, reef safe']],
    ['beauty', 'hair care', 6, 60,
     ['Shampoo', 'Conditioner', 'Hair Oil', 'Hair Dryer', 'Hair Brush',
      'Shampoo Bar'],
     ['Sulfate-Free', 'Argan', 'Volumising', 'Ionic', 'Boar Bristle'],
     ['Leaves hair soft and shiny.',
      'Gentle enough for colour-treated hair.'],
     ['for curly hair', 'for dry hair', 'for everyday use'],
     ['{n3} ml', '{n3} W']],
    ['beauty', 'shaving', 8, 120,
     ['Safety Razor', 'Shaving Cream', 'Beard Oil', 'Electric Shaver',
      'Beard Trimmer'],
     ['Stainless Steel', 'Sensitive', 'Cordless', 'Sandalwood',
      'Waterproof'],
     ['A close, comfortable shave without irritation.',
      'Conditions the beard and soothes the skin.'],
     ['for men', 'for sensitive skin', 'as a gift'],
     ['{n2} ml', '{n2} min runtime']],
    ['beauty', 'bath and body', 5, 45,
     ['Body Wash', 'Bath Salts', 'Soap Bar', 'Body Lotion', 'Hand Cream'],
     ['Lavender', 'Eucalyptus', 'Oatmeal', 'Shea Butter', 'Citrus'],
     ['Rich lather from natural oils.',
      'A relaxing soak after a long day.'],
     ['for dry skin', 'for the bath', 'as a gift'],
     ['{n3} ml', '{n3} g']],
    ['outdoors', 'camping', 25, 500,
     ['Tent', 'Sleeping Bag', 'Sleeping Pad', 'Camping Chair', 'Hammock',
      'Tarp'],
     ['Two-Person', 'Ultralight', 'Down', 'Insulated', 'Backpacking',
      'Family'],
     ['Sets up in minutes with colour-coded poles.',
      'Packs small enough to strap to a backpack.',
      'Rated for nights just below freezing.'],
     ['for backpacking', 'for family camping', 'for festivals'],
     ['{n1}.{n1} kg packed', 'comfort rating -{n1} C']],
    ['outdoors', 'bags', 25, 220,
     ['Backpack', 'Hiking Backpack', 'Duffel Bag', 'Dry Bag',
      'Daypack', 'Hip Pack'],
     ['Waterproof', 'Roll-Top', 'Recycled', 'Lightweight', '30 L',
      'Travel'],
     ['A padded sleeve fits a 15-inch laptop.',
      'Roll-top closure keeps gear dry in rain.',
      'A ventilated back panel for hot days.'],
     ['for hiking', 'for travel', 'for the daily commute'],
     ['{n2} l, {n3} g', 'recycled nylon']],
    ['outdoors', 'camp kitchen', 10, 160,
     ['Camping Stove', 'Cook Set', 'Camp Mug', 'Spork', 'Water Filter'],
     ['Titanium', 'Compact', 'Lightweight', 'Collapsible'],
     ['Boils a litre of water in about four minutes.',
      'Nests together to save space in your pack.'],
     ['for backpacking', 'for car camping', 'for emergencies'],
     ['{n3} g', '{n1} pieces']],
    ['outdoors', 'lighting', 10, 90,
     ['Headlamp', 'Lantern', 'Flashlight', 'Solar Lantern'],
     ['Rechargeable', 'Waterproof', 'Bright', 'Compact'],
     ['Up to {n3} lumens with a red night mode.',
      'Charges over USB-C.'],
     ['for camping', 'for night runs', 'for power cuts'],
     ['{n3} lumens, IPX{n1}']],
    ['outdoors', 'coolers', 30, 300,
     ['Cool Box', 'Soft Cooler', 'Cooler Backpack'],
     ['Insulated', 'Hard-Sided', 'Leak-Proof', 'Large'],
     ['Keeps ice frozen for up to {n1} days.',
      'Fits {n2} cans with ice.'],
     ['for picnics', 'for the beach', 'for camping trips'],
     ['{n2} l capacity']],
    ['sports', 'fitness', 10, 350,
     ['Dumbbells', 'Kettlebell', 'Resistance Bands', 'Jump Rope',
      'Foam Roller', 'Pull-Up Bar', 'Exercise Bike'],
     ['Adjustable', 'Cast Iron', 'Neoprene', 'Weighted', 'Foldable'],
     ['A full-body workout in a small space.',
      'A grippy coating that will not slip when hands sweat.'],
     ['for home workouts', 'for strength training', 'for recovery'],
     ['{n2} kg', 'set of {n1}']],
    ['sports', 'yoga', 15, 120,
     ['Yoga Mat', 'Yoga Block', 'Yoga Strap', 'Meditation Cushion'],
     ['Cork', 'Non-Slip', 'Natural Rubber', 'Extra Thick', 'Travel'],
     ['A non-slip surface even in hot yoga.',
      'Cushioning for knees and wrists.'],
     ['for yoga', 'for pilates', 'for meditation'],
     ['{n3} x {n2} cm, {n1} mm thick']],
    ['sports', 'racket sports', 10, 220,
     ['Tennis Racket', 'Badminton Set', 'Padel Racket', 'Tennis Balls',
      'Table Tennis Bats'],
     ['Graphite', 'Beginner', 'Pro', 'Lightweight'],
     ['A large sweet spot for forgiving shots.',
      'Comes with a carry bag.'],
     ['for beginners', 'for club players', 'for the garden'],
     ['{n3} g, grip size {n1}']],
    ['sports', 'cycling', 10, 260,
     ['Bike Helmet', 'Bike Lights', 'Bike Lock', 'Cycling Gloves',
      'Bike Pump'],
     ['Rechargeable', 'Aero', 'Folding', 'Padded', 'Mini'],
     ['Bright enough to be seen in daylight.',
      'Tested to the EN 1078 safety standard.'],
     ['for commuting', 'for road cycling', 'for mountain biking'],
     ['{n3} g', '{n3} lumens']],
    ['toys', 'building', 15, 150,
     ['Building Blocks', 'Construction Set', 'Marble Run', 'Magnetic Tiles'],
     ['Wooden', 'Magnetic', 'Creative', 'Starter'],
     ['Encourages creative play and problem solving.',
      'Compatible with other major brick brands.'],
     ['for kids aged 4 and up', 'for family play', 'as a birthday gift'],
     ['{n3} pieces, ages 4+']],
    ['toys', 'puzzles', 8, 40,
     ['Jigsaw Puzzle', 'Floor Puzzle', 'Puzzle Box', '3D Puzzle'],
     ['1000-Piece', '500-Piece', 'Wooden', 'Landscape', 'World Map'],
     ['Thick, snug-fitting pieces with a matte finish.',
      'A poster of the finished picture is included.'],
     ['for rainy days', 'for puzzle lovers', 'for the family'],
     ['{n3} pieces, {n2} x {n2} cm']],
    ['toys', 'soft toys', 8, 45,
     ['Teddy Bear', 'Plush Toy', 'Stuffed Dinosaur', 'Plush Rabbit'],
     ['Cuddly', 'Organic', 'Giant', 'Soft'],
     ['Super soft and safe from birth.',
      'Machine washable for easy cleaning.'],
     ['for babies', 'for toddlers', 'as a baby shower gift'],
     ['{n2} cm tall, ages 0+']],
    ['toys', 'games', 10, 60,
     ['Board Game', 'Card Game', 'Chess Set', 'Party Game'],
     ['Strategy', 'Family', 'Cooperative', 'Travel', 'Wooden'],
     ['Easy to learn, with games lasting about {n2} minutes.',
      'For two to six players.'],
     ['for game night', 'for families', 'for travel'],
     ['{n1}-{n1} players, ages {n1}+']],
    ['toys', 'vehicles', 10, 90,
     ['Remote Control Car', 'Toy Train Set', 'Wooden Truck', 'Toy Plane'],
     ['Rechargeable', 'Wooden', 'Off-Road', 'Die-Cast'],
     ['Sturdy enough for years of play.',
      'Up to {n2} minutes of driving per charge.'],
     ['for kids aged 3 and up', 'for outdoor play', 'as a gift'],
     ['ages {n1}+']],
    ['toys', 'arts and crafts', 6, 50,
     ['Crayons', 'Watercolour Set', 'Craft Kit', 'Modelling Clay',
      'Sketchbook'],
     ['Washable', 'Non-Toxic', 'Jumbo', 'Deluxe'],
     ['Non-toxic and washable from clothes.',
      'Everything a young artist needs in one box.'],
     ['for kids', 'for rainy days', 'for classrooms'],
     ['{n2} colours', '{n2} pieces']],
);

my $coloured = qr/^(?:apparel|footwear|electronics|kitchen|outdoors|sports
    |home)$/x;

sub fill {
    my ($s) = @_;
    $s =~ s/\{n1\}/2 + below(7)/ge;
    $s =~ s/\{n2\}/10 + below(80)/ge;
    $s =~ s/\{n3\}/100 + below(850)/ge;
    $s =~ s/\{pct\}/50 + 5 * below(11)/ge;
    return $s;
}

sub price {
    my ($lo, $hi) = @_;
    my $p = $lo + ($hi - $lo) * unit() ** 1.6;      # more cheap ones
    my $end = pick([0.99, 0.99, 0.49, 0.95, 0.00, 0.50]);
    $p = int($p) + $end;
    return $p < 1 ? 0.99 : 0 + sprintf '%.2f', $p;
}

# --- the products ------------------------------------------------------------

my (%seen, @out);
my $json = JSON::PP->new->utf8->canonical;

for my $i (1 .. $count) {
    my $k = pick(\@kinds);
    my ($cat, $sub, $lo, $hi, $nouns, $mods, $features, $uses, $specs) = @$k;

    my ($name, $noun, $mod, $color, $brand);

    for my $try (0 .. 50) {
        $brand = pick(\@brands);
        $noun = pick($nouns);
        $mod = chance(0.85) ? pick($mods) : '';
        $color = $cat =~ $coloured && chance(0.55) ? pick(\@colors) : '';
        my $suffix = pick(\@suffixes);
        $name = join ' ', grep { length } $brand, $color, $mod, $noun,
            $suffix;
        $name .= ' ' . (100 + below(900)) if $try > 40;
        last unless $seen{lc $name}++;
    }

    my $use = pick($uses);
    my $what = lc(join ' ', grep { length } $color, $mod, $noun);
    $what =~ s/\b(usb|led|gps|gan|hdmi|spf|ipx|bpa|en|3d)\b/\U$1/g;

    # "A mug", "An ionic hair dryer", "Bath salts"
    my $art = $what =~ /[^s]s$/ ? '' : $what =~ /^[aeiou]/ ? 'An ' : 'A ';

    my @sentences = (
        pick([ucfirst("$art$what $use."), "Our $what, made $use.",
              "The $brand $what " . ($art ? "is" : "are") . " made $use.",
              ucfirst("$what $use, from $brand.")]),
        map({ fill($_) } some($features, 1 + below(3))),
    );
    push @sentences, pick(\@generic) if chance(0.6);

    my %p = (
        id => sprintf('bench_%05d', $i),
        name => $name,
        description => join(' ', @sentences),
        specs => fill(join ', ', some($specs, 1 + below(2))),
        price => price($lo, $hi),
        category => $cat,
        sub_category => $sub,
        stock_quantity => chance(0.08) ? 0
            : int(exp(unit() * log(500))),
        image_url => sprintf('/images/bench_%05d.jpg', $i),
    );

    # a rating for most products, skewed towards the good ones
    $p{score} = 0 + sprintf('%.1f', 5 - 2.2 * unit() ** 2)
        if chance(0.9);

    push @out, $json->encode(\%p);
}

binmode STDOUT;
print "[\n", join(",\n", @out), "\n]\n";
