# Install the UB Mannheim build of Tesseract for Windows into a private folder (not PATH, not
# Program Files), for packaging\stage_tesseract.py to stage into the bundle.
#
#   pwsh packaging\windows\fetch_tesseract.ps1 [-InstallDir build\tesseract-install]
#
# Source: the UB Mannheim installer (https://github.com/UB-Mannheim/tesseract/wiki), the build
# the Tesseract project itself points Windows users to. It is an NSIS installer, run silently
# with /S and /D=<folder>; it brings tesseract.exe, its DLLs and tessdata\eng.traineddata.
#   TESSERACT_INSTALLER_URL     another UB Mannheim release (default: the pinned one below)
#   TESSERACT_INSTALLER_SHA256  refuse the download unless it has this SHA-256 (the script prints
#                               the hash of what it downloaded; pin it in CI once reviewed)
# Prints the tesseract.exe path as its last line.
param(
    [string]$InstallDir = ""
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
if (-not $InstallDir) { $InstallDir = Join-Path $Root "build\tesseract-install" }
$Exe = Join-Path $InstallDir "tesseract.exe"

$DefaultUrl = "https://digi.bib.uni-mannheim.de/tesseract/tesseract-ocr-w64-setup-5.3.3.20231005.exe"
$Url = if ($env:TESSERACT_INSTALLER_URL) { $env:TESSERACT_INSTALLER_URL } else { $DefaultUrl }

if (-not (Test-Path $Exe)) {
    New-Item -ItemType Directory -Force -Path (Join-Path $Root "build") | Out-Null
    $Installer = Join-Path $Root "build\tesseract-setup.exe"
    Write-Host "downloading $Url"
    Invoke-WebRequest -Uri $Url -OutFile $Installer -UseBasicParsing
    $Hash = (Get-FileHash -Path $Installer -Algorithm SHA256).Hash
    Write-Host "tesseract installer SHA-256: $Hash"
    if ($env:TESSERACT_INSTALLER_SHA256 -and $Hash -ne $env:TESSERACT_INSTALLER_SHA256.ToUpperInvariant()) {
        throw "tesseract installer hash $Hash differs from TESSERACT_INSTALLER_SHA256"
    }
    # NSIS: /D must be the last argument and is never quoted.
    $Process = Start-Process -FilePath $Installer -ArgumentList "/S", "/D=$InstallDir" -Wait -PassThru
    if ($Process.ExitCode -ne 0) { throw "tesseract installer exited with $($Process.ExitCode)" }
}
if (-not (Test-Path $Exe)) { throw "no tesseract.exe in $InstallDir after installing" }
& $Exe --version | Select-Object -First 1
if ($LASTEXITCODE -ne 0) { throw "$Exe --version failed" }
Write-Output $Exe
