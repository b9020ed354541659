#!/bin/sh
# Draws the add-on's icon.png (128x128) and logo.png (250x100) with ImageMagick 6 and the
# DejaVu Sans font (Debian: apt-get install imagemagick fonts-dejavu-core). The PNGs are
# committed; run this only to change them: sh addon/tools/draw-images.sh
set -eu
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A router with two antennas under three signal arcs, on a rounded blue tile. Drawn at 512 px and
# scaled down for smooth edges. The arcs are rings cut to a 90° wedge through a mask.
convert -size 512x512 xc:black -fill white \
  -draw 'circle 256,262 256,93' -fill black -draw 'circle 256,262 256,131' \
  -fill white -draw 'circle 256,262 256,149' -fill black -draw 'circle 256,262 256,187' \
  -fill white -draw 'circle 256,262 256,205' -fill black -draw 'circle 256,262 256,243' \
  -fill white -draw 'circle 256,262 256,234' \
  -fill black -draw 'polygon 256,262 1256,-738 1256,1262 -744,1262 -744,-738' \
  "$work/arcs-mask.png"
convert -size 512x512 xc:white "$work/arcs-mask.png" -alpha off -compose CopyOpacity -composite "$work/arcs.png"
convert -size 512x512 xc:none \
  -fill '#1565C0' -draw 'roundrectangle 16,16 496,496 96,96' \
  "$work/arcs.png" -compose Over -composite \
  -stroke white -strokewidth 24 -draw 'line 136,300 112,196' -draw 'line 376,300 400,196' \
  -stroke none -fill white -draw 'roundrectangle 88,290 424,420 28,28' \
  -fill '#43A047' -draw 'circle 150,355 168,355' -draw 'circle 210,355 228,355' \
  -fill '#FFB300' -draw 'circle 270,355 288,355' \
  -fill '#90A4AE' -draw 'roundrectangle 320,342 392,368 10,10' \
  "$work/icon-512.png"
convert "$work/icon-512.png" -resize 128x128 -depth 8 -strip icon.png

# The icon with the name beside it.
convert -size 250x100 xc:none \
  \( "$work/icon-512.png" -resize 84x84 \) -geometry +6+8 -composite \
  -font DejaVu-Sans-Bold -pointsize 22 -fill '#1565C0' -annotate +98+45 'DDNS' \
  -font DejaVu-Sans -pointsize 22 -fill '#37474F' -annotate +98+72 'Watchdog' \
  -depth 8 -strip logo.png
